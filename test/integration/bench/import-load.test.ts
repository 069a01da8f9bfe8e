import { afterAll, describe, expect, it } from 'vitest';
import { benchDynamoOn } from '../../../bench/harness/dynamo.ts';
import { measureImportLoad } from '../../../bench/measures/import-load.ts';
import { dynamoDbEndpoint } from '../../helpers/dynamodb.ts';

/** A small run of the benchmark's import measurement: it checks what the report is built from, never a time. */
describe('benchmark import measurement (small file)', () => {
  const dynamo = benchDynamoOn(dynamoDbEndpoint());
  afterAll(async () => {
    await dynamo.stop();
  });

  it('imports every user and samples the student list alone and during the import', async () => {
    const result = await measureImportLoad({
      documentClient: dynamo.documentClient,
      tables: await dynamo.createTableSet('import-smoke'),
      users: 300,
      aloneRequests: 5,
      log: () => {},
    });
    expect(result).toMatchObject({ users: 300, entries: 300, importStatus: 200, created: 300 });
    expect(result.alone.n).toBe(5);
    expect(result.duringImport.n).toBeGreaterThanOrEqual(1);
    expect(result.importS).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { dynamoDbClientConfig, MissingSettingError, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';

describe('DynamoDB client settings', () => {
  it('uses the SDK defaults without a local endpoint', () => {
    expect(dynamoDbClientConfig({ AWS_REGION: 'eu-west-1' })).toEqual({});
  });

  it('points at a local endpoint with a region and fake credentials', () => {
    expect(dynamoDbClientConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' })).toEqual({
      endpoint: 'http://127.0.0.1:8000',
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  it('keeps real credentials when they are set', () => {
    const config = dynamoDbClientConfig({
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'a',
      AWS_SECRET_ACCESS_KEY: 'b',
    });
    expect(config).toEqual({ endpoint: 'http://127.0.0.1:8000', region: 'us-east-1' });
  });

  it('reads table names and names a missing variable', () => {
    expect(tableNamesFromEnv({ INVENTORY_TABLE: 'i', SYNC_STATE_TABLE: 's', OWNERSHIP_TABLE: 'o' })).toEqual({
      inventory: 'i',
      syncState: 's',
      ownership: 'o',
    });
    expect(() => tableNamesFromEnv({ INVENTORY_TABLE: 'i', OWNERSHIP_TABLE: 'o' })).toThrow(
      new MissingSettingError('environment variable SYNC_STATE_TABLE is not set'),
    );
  });
});

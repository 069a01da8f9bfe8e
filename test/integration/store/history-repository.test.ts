import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeHistoryGuests,
  type HistoryBucket,
  type HistoryValues,
  readVmHistory,
} from '#shared/domain/metrics-history.ts';
import { DynamoDbHistoryRepository } from '#shared/store/dynamodb/history-repository.ts';
import { historyKeys } from '#shared/store/table-design.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

/**
 * The history's storage on DynamoDB Local: one packed item per cluster and bucket, and items of the
 * earlier layout (one per node, guests as a string) still read alongside them until they expire.
 */

let tables: TestTables;
let repo: DynamoDbHistoryRepository;

beforeAll(async () => {
  tables = await createTestTables('history');
  repo = new DynamoDbHistoryRepository(tables.documentClient, tables.names.syncState);
});

afterAll(async () => {
  await tables?.drop();
});

// An hour ago, minute-aligned: the items' TTL (25 h later) must lie in the future, or DynamoDB
// Local deletes them.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const v = (cpu: number, mem: number, cpuMax = cpu, memMax = mem): HistoryValues => ({
  cpu_avg: cpu,
  mem_avg: mem,
  cpu_max: cpuMax,
  mem_max: memMax,
});
const bucket = (
  cluster_id: string,
  node: string,
  t: number,
  guests: Array<[number, HistoryValues]>,
): HistoryBucket => ({ cluster_id, node, resolution: '1m', t, samples: 2, guests: new Map(guests) });

describe('the history repository', () => {
  it('puts one item per cluster and minute, every node inside, and reads each node back', async () => {
    const report = await repo.putBuckets([
      bucket('c1', 'pve1', T0, [[101, v(10, 20, 12.5, 20)]]),
      bucket('c1', 'pve2', T0, [[202, v(30, 40)]]),
      bucket('c2', 'pve1', T0, [[101, v(50, 60)]]),
    ]);
    expect(report.writes).toBe(2);
    const stored = await tables.documentClient.send(
      new QueryCommand({
        TableName: tables.names.syncState,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': historyKeys.partition('c1', '1m') },
      }),
    );
    expect(stored.Items).toHaveLength(1);
    expect(stored.Items?.[0]?.sk).toBe(new Date(T0).toISOString());

    const read = await repo.queryBuckets('c1', '1m', T0, T0);
    expect(read.map((b) => [b.node, b.t, b.samples, [...b.guests]])).toEqual([
      ['pve1', T0, 2, [[101, v(10, 20, 12.5, 20)]]],
      ['pve2', T0, 2, [[202, v(30, 40)]]],
    ]);
  });

  it('reads items of the earlier per-node layout alongside packed ones, in one series', async () => {
    // An item as the earlier code wrote it, a minute before the packed one.
    await tables.documentClient.send(
      new PutCommand({
        TableName: tables.names.syncState,
        Item: {
          ...historyKeys.legacyBucket('c3', '1m', T0, 'pve1'),
          node: 'pve1',
          t: T0,
          n: 2,
          g: encodeHistoryGuests(new Map([[101, v(1, 2, 3, 4)]])),
          expires_at: Math.ceil((T0 + 25 * 3600_000) / 1000),
        },
      }),
    );
    await repo.putBuckets([bucket('c3', 'pve2', T0 + 60_000, [[101, v(5, 6)]])]);
    expect(
      await readVmHistory(repo, { cluster: 'c3', vmid: 101, from: T0, to: T0 + 60_000, resolution: '1m' }),
    ).toEqual([
      { t: T0, ...v(1, 2, 3, 4) },
      { t: T0 + 60_000, ...v(5, 6) },
    ]);
    // The range bounds hold for both layouts: nothing outside [from, to].
    expect(await repo.queryBuckets('c3', '1m', T0 + 1, T0 + 60_000)).toHaveLength(1);
    expect(await repo.queryBuckets('c3', '1m', T0, T0 + 59_999)).toHaveLength(1);
  });
});

import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  batchGetAll,
  batchWriteAll,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type WriteRequest,
} from '#shared/store/dynamodb/batch-operations.ts';
import { BatchGetIncompleteError, BatchWriteIncompleteError } from '#shared/store/dynamodb/errors.ts';

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const mock = mockClient(documentClient);
const sleeps: number[] = [];
const policy: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 4,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
  random: () => 0.5,
};
const puts = (n: number): WriteRequest[] =>
  Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: { pk: `k${i}`, sk: 's' } } }));

afterEach(() => {
  mock.reset();
  sleeps.length = 0;
});

describe('batchWriteAll', () => {
  it('splits into batches of 25 and sums writes and reported capacity', async () => {
    mock.on(BatchWriteCommand).callsFake(async (input) => ({
      UnprocessedItems: {},
      ConsumedCapacity: [{ TableName: 't', CapacityUnits: input.RequestItems.t.length }],
    }));
    const report = await batchWriteAll(documentClient, 't', puts(60), policy);
    expect(mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.t?.length)).toEqual([
      25, 25, 10,
    ]);
    expect(report).toEqual({ writes: 60, capacityUnits: 60 });
  });

  it('retries only the unprocessed items, with jittered growing delays', async () => {
    const requests = puts(5);
    mock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { t: requests.slice(2) } })
      .resolvesOnce({ UnprocessedItems: { t: requests.slice(4) } })
      .resolves({ UnprocessedItems: {} });
    const report = await batchWriteAll(documentClient, 't', requests, policy);
    const sent = mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.t?.length);
    expect(sent).toEqual([5, 3, 1]);
    expect(report.writes).toBe(5);
    expect(sleeps).toEqual([backoffDelay(policy, 1), backoffDelay(policy, 2)]);
    expect(sleeps[1]).toBeGreaterThan(sleeps[0] ?? 0);
  });

  it('fails loudly once the attempts are used up', async () => {
    const requests = puts(3);
    mock.on(BatchWriteCommand).resolves({ UnprocessedItems: { t: requests.slice(1) } });
    await expect(batchWriteAll(documentClient, 't', requests, policy)).rejects.toThrow(
      BatchWriteIncompleteError,
    );
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(4);
  });

  it('retries a batch refused as a whole for throughput, like unprocessed items', async () => {
    const requests = puts(3);
    mock
      .on(BatchWriteCommand)
      .rejectsOnce(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }))
      .resolves({ UnprocessedItems: {} });
    const report = await batchWriteAll(documentClient, 't', requests, policy);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(2);
    expect(report.writes).toBe(3);
  });

  it('writes every batch and reports what was written when some stay incomplete', async () => {
    const requests = puts(30);
    mock.on(BatchWriteCommand).callsFake(async (input) => {
      const batch = input.RequestItems.t;
      // The second batch (5 items) never gets through; the first (25) does.
      return batch.length === 5 ? { UnprocessedItems: { t: batch } } : { UnprocessedItems: {} };
    });
    const error = await batchWriteAll(documentClient, 't', requests, policy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchWriteIncompleteError);
    expect(error).toMatchObject({ unprocessed: 5, written: { writes: 25 } });
  });

  it('gives up when the backoff budget is spent, whatever the attempts left', async () => {
    const requests = puts(2);
    mock.on(BatchWriteCommand).resolves({ UnprocessedItems: { t: requests } });
    const budgeted: RetryPolicy = { ...policy, maxAttempts: 100, budgetMs: 300, random: () => 1 };
    await expect(batchWriteAll(documentClient, 't', requests, budgeted)).rejects.toThrow(
      BatchWriteIncompleteError,
    );
    // 50·2 + 50·4 = 300 ms of backoff: two retries, then the next delay would pass the budget.
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });

  it('caps the backoff delay', () => {
    const capped = { ...policy, random: () => 1 };
    expect(backoffDelay(capped, 30)).toBe(capped.maxDelayMs);
  });
});

describe('batchGetAll', () => {
  it('retries unprocessed keys and returns every item', async () => {
    mock
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { t: [{ k: 1 }] }, UnprocessedKeys: { t: { Keys: [{ k: 2 }] } } })
      .resolves({ Responses: { t: [{ k: 2 }] } });
    const items = await batchGetAll(documentClient, 't', [{ k: 1 }, { k: 2 }], {}, policy);
    expect(items).toEqual([{ k: 1 }, { k: 2 }]);
  });

  it('fails loudly when keys stay unprocessed', async () => {
    mock.on(BatchGetCommand).resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [{ k: 1 }] } } });
    await expect(batchGetAll(documentClient, 't', [{ k: 1 }], {}, policy)).rejects.toThrow(
      BatchGetIncompleteError,
    );
  });
});

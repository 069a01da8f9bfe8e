import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { WriteReport } from '../ports.ts';
import { BatchGetIncompleteError, BatchWriteIncompleteError } from './errors.ts';
import { mapWithConcurrency, sumCapacity } from './helpers.ts';

/** A put or delete request of BatchWriteItem. */
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
type Key = Record<string, unknown>;

/** Retry policy for unprocessed batch items: full-jitter exponential backoff with a cap. */
export interface RetryPolicy {
  /** attempts per batch including the first (default 8) */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 25,
  maxDelayMs: 2_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Delay before retry number `attempt` (1-based): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.floor(policy.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt));
}

const BATCH_WRITE_SIZE = 25;
const BATCH_GET_SIZE = 100;
const BATCH_CONCURRENCY = 4;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Writes any number of put/delete requests to one table in batches of 25, retrying
 * UnprocessedItems with jittered backoff; throws `BatchWriteIncompleteError` when a batch is still
 * incomplete after `maxAttempts`.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<WriteReport> {
  const reports = await mapWithConcurrency(
    chunk(requests, BATCH_WRITE_SIZE),
    BATCH_CONCURRENCY,
    async (batch) => {
      let pending: WriteRequest[] = batch;
      let writes = 0;
      let capacityUnits = 0;
      for (let attempt = 1; ; attempt++) {
        const result = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
        );
        const unprocessed = result.UnprocessedItems?.[tableName] ?? [];
        writes += pending.length - unprocessed.length;
        capacityUnits += sumCapacity(result.ConsumedCapacity) ?? pending.length - unprocessed.length;
        if (unprocessed.length === 0) return { writes, capacityUnits };
        if (attempt >= policy.maxAttempts) {
          throw new BatchWriteIncompleteError(tableName, unprocessed.length, attempt);
        }
        pending = unprocessed;
        await policy.sleep(backoffDelay(policy, attempt));
      }
    },
  );
  return reports.reduce(
    (sum, r) => ({ writes: sum.writes + r.writes, capacityUnits: sum.capacityUnits + r.capacityUnits }),
    {
      writes: 0,
      capacityUnits: 0,
    },
  );
}

/**
 * Reads any number of keys from one table in batches of 100, retrying UnprocessedKeys with jittered
 * backoff; throws `BatchGetIncompleteError` when still incomplete after `maxAttempts`. Missing items
 * are simply absent from the result (order not preserved).
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  options: { consistentRead?: boolean } = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Record<string, unknown>[]> {
  const pages = await mapWithConcurrency(chunk(keys, BATCH_GET_SIZE), BATCH_CONCURRENCY, async (batch) => {
    let pending: Key[] = batch;
    const items: Record<string, unknown>[] = [];
    for (let attempt = 1; ; attempt++) {
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistentRead ?? false } },
        }),
      );
      items.push(...(result.Responses?.[tableName] ?? []));
      const unprocessed = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (unprocessed.length === 0) return items;
      if (attempt >= policy.maxAttempts)
        throw new BatchGetIncompleteError(tableName, unprocessed.length, attempt);
      pending = unprocessed;
      await policy.sleep(backoffDelay(policy, attempt));
    }
  });
  return pages.flat();
}

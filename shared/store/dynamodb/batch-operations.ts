import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { WriteReport } from '../ports.ts';
import { BatchGetIncompleteError, BatchWriteIncompleteError } from './errors.ts';
import { mapWithConcurrency, sumCapacity } from './helpers.ts';

/** A put or delete request of BatchWriteItem. */
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
type Key = Record<string, unknown>;

/**
 * Retry policy for unprocessed batch items and throttled batches: full-jitter exponential backoff
 * with a cap, bounded by attempts and by the total time spent waiting.
 */
export interface RetryPolicy {
  /** attempts per batch including the first (default 40) */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Total backoff per batch (default 30 s): DynamoDB throttles a hot partition for seconds, so a
   * budget of tens of seconds rides it out where a few attempts would give up.
   */
  budgetMs?: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 40,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  budgetMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Error names DynamoDB (and the SDK) use for a request refused for throughput. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** True for an error that asks the caller to slow down and retry. */
export function isThrottlingError(error: unknown): boolean {
  return error instanceof Error && THROTTLING_ERRORS.has(error.name);
}

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
 * UnprocessedItems and throttled batches with jittered backoff within the policy's budget. Every
 * batch is attempted: when some stay incomplete, `BatchWriteIncompleteError` says how many items
 * were written and how many were not (what was written stays written).
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<WriteReport> {
  const outcomes = await mapWithConcurrency(
    chunk(requests, BATCH_WRITE_SIZE),
    BATCH_CONCURRENCY,
    async (batch) => {
      let pending: WriteRequest[] = batch;
      let writes = 0;
      let capacityUnits = 0;
      let waited = 0;
      for (let attempt = 1; ; attempt++) {
        let unprocessed: WriteRequest[];
        try {
          const result = await client.send(
            new BatchWriteCommand({
              RequestItems: { [tableName]: pending },
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          unprocessed = result.UnprocessedItems?.[tableName] ?? [];
          writes += pending.length - unprocessed.length;
          capacityUnits += sumCapacity(result.ConsumedCapacity) ?? pending.length - unprocessed.length;
        } catch (error) {
          // A batch refused as a whole (every item's partition throttled) is retried like unprocessed items.
          if (!isThrottlingError(error)) throw error;
          unprocessed = pending;
        }
        if (unprocessed.length === 0) return { writes, capacityUnits, unwritten: 0, attempts: attempt };
        const delay = backoffDelay(policy, attempt);
        if (attempt >= policy.maxAttempts || waited + delay > (policy.budgetMs ?? Number.POSITIVE_INFINITY)) {
          return { writes, capacityUnits, unwritten: unprocessed.length, attempts: attempt };
        }
        pending = unprocessed;
        waited += delay;
        await policy.sleep(delay);
      }
    },
  );
  const report = { writes: 0, capacityUnits: 0 };
  let unwritten = 0;
  let attempts = 0;
  for (const outcome of outcomes) {
    report.writes += outcome.writes;
    report.capacityUnits += outcome.capacityUnits;
    unwritten += outcome.unwritten;
    if (outcome.unwritten > 0) attempts = Math.max(attempts, outcome.attempts);
  }
  if (unwritten > 0) throw new BatchWriteIncompleteError(tableName, unwritten, attempts, report);
  return report;
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

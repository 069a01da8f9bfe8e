import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isThrottlingError } from './batch-operations.ts';

/**
 * Write pacing: a token bucket per table, in front of every write a client sends. DynamoDB serves
 * one partition key (all guests of a cluster share one) at about 1,000 write units per second
 * and answers faster writers with throttling. The bucket starts below that, halves its rate on
 * every throttling answer (an error, or a batch with `UnprocessedItems`), and grows back slowly
 * while writes go through (additive increase, multiplicative decrease). A throttled single request
 * is retried here with jittered backoff within a budget of tens of seconds; batches retry their
 * unprocessed items themselves (`batchWriteAll`).
 */

/** Settings of the pacing; every field has a default. */
export interface WritePacingOptions {
  /** write units per second per table at the start (default 400) */
  initialRate?: number;
  /** never slower than this (default 10 units/s) */
  minRate?: number;
  /** never faster than this (default 900 units/s, below a partition's 1,000) */
  maxRate?: number;
  /** units per second added per second of writes without throttling (default 50) */
  increasePerSecond?: number;
  /** backoff spent on one throttled request before its error is passed on (default 30 s) */
  retryBudgetMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** A table's bucket, as tests and logs see it. */
export interface TableBucketState {
  rate: number;
  throttles: number;
  retries: number;
}

/** The pacing attached to a client. */
export interface WritePacer {
  /** Current rate and counters of a table's bucket (undefined before its first write). */
  state(tableName: string): TableBucketState | undefined;
}

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** An adaptive token bucket (write units per second). */
export class TokenBucket {
  rate: number;
  throttles = 0;
  retries = 0;
  private tokens: number;
  private refilledAt: number;
  private adjustedAt: number;
  private decreasedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: Required<Omit<WritePacingOptions, 'sleep' | 'random' | 'retryBudgetMs'>>,
  ) {
    this.rate = options.initialRate;
    this.tokens = options.initialRate;
    this.refilledAt = options.now();
    this.adjustedAt = this.refilledAt;
  }

  /** Milliseconds to wait before `units` may be spent (0: spend now); takes them when 0. */
  reserve(units: number): number {
    this.refill();
    // A request larger than one second's worth still goes through once the bucket is full.
    const needed = Math.min(units, this.rate);
    if (this.tokens >= needed) {
      this.tokens -= units;
      return 0;
    }
    return Math.ceil(((needed - this.tokens) / this.rate) * 1000);
  }

  /** A throttling answer: half the rate (at most once per 500 ms: one burst is one signal). */
  throttled(): void {
    this.throttles += 1;
    const now = this.options.now();
    if (now - this.decreasedAt < 500) return;
    this.rate = Math.max(this.options.minRate, this.rate / 2);
    this.tokens = Math.min(this.tokens, 0);
    this.decreasedAt = now;
    this.adjustedAt = now;
  }

  /** Writes went through: grow the rate back, in proportion to the time since the last change. */
  succeeded(): void {
    const now = this.options.now();
    const seconds = Math.max(0, now - this.adjustedAt) / 1000;
    if (seconds <= 0) return;
    this.rate = Math.min(this.options.maxRate, this.rate + this.options.increasePerSecond * seconds);
    this.adjustedAt = now;
  }

  private refill(): void {
    const now = this.options.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
  }
}

/** Write units a command asks for, per table (transactions cost two per item). */
export function writeUnitsByTable(commandName: string, input: unknown): Map<string, number> {
  const units = new Map<string, number>();
  if (!isRecord(input)) return units;
  const add = (table: unknown, n: number): void => {
    if (typeof table === 'string') units.set(table, (units.get(table) ?? 0) + n);
  };
  if (commandName === 'BatchWriteItemCommand' && isRecord(input.RequestItems)) {
    for (const [table, requests] of Object.entries(input.RequestItems))
      add(table, Array.isArray(requests) ? requests.length : 0);
  } else if (commandName === 'TransactWriteItemsCommand' && Array.isArray(input.TransactItems)) {
    for (const item of input.TransactItems) {
      if (!isRecord(item)) continue;
      for (const action of Object.values(item)) if (isRecord(action)) add(action.TableName, 2);
    }
  } else {
    add(input.TableName, 1);
  }
  return units;
}

function hasUnprocessed(output: unknown): boolean {
  if (!isRecord(output) || !isRecord(output.UnprocessedItems)) return false;
  return Object.values(output.UnprocessedItems).some((list) => Array.isArray(list) && list.length > 0);
}

/** Attaches write pacing to a client (a DocumentClient shares its client's middleware stack). */
export function attachWritePacing(
  client: DynamoDBClient | DynamoDBDocumentClient,
  options: WritePacingOptions = {},
): WritePacer {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const budgetMs = options.retryBudgetMs ?? 30_000;
  const settings = {
    initialRate: options.initialRate ?? 400,
    minRate: options.minRate ?? 10,
    maxRate: options.maxRate ?? 900,
    increasePerSecond: options.increasePerSecond ?? 50,
    now,
  };
  const buckets = new Map<string, TokenBucket>();
  const bucketOf = (table: string): TokenBucket => {
    let bucket = buckets.get(table);
    if (!bucket) {
      bucket = new TokenBucket(settings);
      buckets.set(table, bucket);
    }
    return bucket;
  };
  const acquire = async (units: Map<string, number>): Promise<void> => {
    for (const [table, n] of units) {
      const bucket = bucketOf(table);
      for (let wait = bucket.reserve(n); wait > 0; wait = bucket.reserve(n)) await sleep(wait);
    }
  };

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '';
      if (!WRITE_COMMANDS.has(name)) return next(args);
      const units = writeUnitsByTable(name, args.input);
      let waited = 0;
      for (let attempt = 1; ; attempt += 1) {
        await acquire(units);
        try {
          const result = await next(args);
          for (const table of units.keys()) {
            if (hasUnprocessed(result.output)) bucketOf(table).throttled();
            else bucketOf(table).succeeded();
          }
          return result;
        } catch (error) {
          if (!isThrottlingError(error)) throw error;
          for (const table of units.keys()) bucketOf(table).throttled();
          const delay = Math.floor(random() * Math.min(5_000, 50 * 2 ** attempt));
          if (waited + delay > budgetMs) throw error;
          for (const table of units.keys()) bucketOf(table).retries += 1;
          waited += delay;
          await sleep(delay);
        }
      }
    },
    { step: 'initialize', name: 'writePacing', priority: 'high' },
  );
  return {
    state(tableName) {
      const bucket = buckets.get(tableName);
      return bucket ? { rate: bucket.rate, throttles: bucket.throttles, retries: bucket.retries } : undefined;
    },
  };
}

import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A throttling layer in front of DynamoDB Local, which never throttles: a client middleware that
 * answers a configured share of write requests as DynamoDB does under load — a whole request
 * refused with `ProvisionedThroughputExceededException`, or a batch that writes only its first
 * half and returns the rest as `UnprocessedItems`. Deterministic (every 1/share-th request), so a
 * test's figures repeat. It sits behind the write pacing (which must see its answers).
 */

export interface ThrottlingOptions {
  /** share of write requests refused as a whole (0..1) */
  errorShare?: number;
  /** share of batch writes answered with half of their items unprocessed (0..1) */
  unprocessedShare?: number;
}

export interface ThrottlingLayer {
  readonly errors: number;
  readonly partialBatches: number;
  /** Items the layer returned as unprocessed. */
  readonly unprocessedItems: number;
  setShares(options: ThrottlingOptions): void;
}

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

export function attachThrottling(
  client: DynamoDBDocumentClient,
  options: ThrottlingOptions,
): ThrottlingLayer {
  let shares = { errorShare: options.errorShare ?? 0, unprocessedShare: options.unprocessedShare ?? 0 };
  let errorDue = 0;
  let partialDue = 0;
  const layer = { errors: 0, partialBatches: 0, unprocessedItems: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '';
      if (!WRITES.has(name)) return next(args);
      errorDue += shares.errorShare;
      if (errorDue >= 1) {
        errorDue -= 1;
        layer.errors += 1;
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded (simulated)',
          $metadata: { httpStatusCode: 400 },
        });
      }
      const input: unknown = args.input;
      if (name !== 'BatchWriteItemCommand' || !isRecord(input) || !isRecord(input.RequestItems))
        return next(args);
      partialDue += shares.unprocessedShare;
      if (partialDue < 1) return next(args);
      partialDue -= 1;
      const requestItems = input.RequestItems;
      const kept: Record<string, unknown[]> = {};
      const left: Record<string, unknown[]> = {};
      for (const [table, requests] of Object.entries(requestItems)) {
        if (!Array.isArray(requests)) continue;
        const half = Math.ceil(requests.length / 2);
        kept[table] = requests.slice(0, half);
        if (requests.length > half) left[table] = requests.slice(half);
      }
      const result = await next({ ...args, input: { ...input, RequestItems: kept } });
      const count = Object.values(left).reduce((sum, list) => sum + list.length, 0);
      if (count === 0) return result;
      layer.partialBatches += 1;
      layer.unprocessedItems += count;
      const output: unknown = result.output;
      if (isRecord(output)) output.UnprocessedItems = left;
      return result;
    },
    { step: 'initialize', name: 'testThrottling', priority: 'low' },
  );
  return {
    get errors() {
      return layer.errors;
    },
    get partialBatches() {
      return layer.partialBatches;
    },
    get unprocessedItems() {
      return layer.unprocessedItems;
    },
    setShares(next) {
      shares = { errorShare: next.errorShare ?? 0, unprocessedShare: next.unprocessedShare ?? 0 };
    },
  };
}

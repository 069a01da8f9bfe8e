import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createTables,
  localClientConfig,
  prefixedTableNames,
  startDynamoDbLocal,
} from '#local/dynamodb-local.ts';
import { createDocumentClient } from '#shared/clients/dynamodb.ts';
import type { TableNames } from '#shared/store/table-design.ts';

/**
 * DynamoDB Local for the benchmark, and a capacity meter: a client middleware that asks every item
 * operation for `ReturnConsumedCapacity: TOTAL` and adds up what DynamoDB reports, so the write and
 * read units of a sync are DynamoDB's own figures, not the code's count of its writes.
 */

const READ_COMMANDS = new Set([
  'GetItemCommand',
  'BatchGetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'TransactGetItemsCommand',
]);
const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/** Capacity units and requests seen by a meter. */
export interface CapacityTotals {
  wcu: number;
  rcu: number;
  writeRequests: number;
  readRequests: number;
  /** Write units per table name. */
  wcuByTable: Record<string, number>;
  /** Wall time with at least one DynamoDB request in flight (ms). */
  busyMs: number;
}

/** Adds up consumed capacity of every item operation sent through the clients it is attached to. */
export interface CapacityMeter {
  totals(): CapacityTotals;
  reset(): void;
  /** Attaches the meter to a client (DocumentClients share their client's middleware stack). */
  attach(client: DynamoDBClient | DynamoDBDocumentClient): void;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const empty = (): CapacityTotals => ({
  wcu: 0,
  rcu: 0,
  writeRequests: 0,
  readRequests: 0,
  wcuByTable: {},
  busyMs: 0,
});

/** Creates a capacity meter. */
export function createCapacityMeter(): CapacityMeter {
  let totals = empty();
  let inFlight = 0;
  let busySince = 0;
  const attached = new WeakSet<object>();
  /** Adds the `CapacityUnits` of a ConsumedCapacity entry or list (anything else is ignored). */
  const add = (consumed: unknown, kind: 'read' | 'write'): void => {
    const list: unknown[] = Array.isArray(consumed) ? consumed : [consumed];
    for (const c of list) {
      if (!isRecord(c) || typeof c.CapacityUnits !== 'number') continue;
      const units = c.CapacityUnits;
      if (kind === 'read') totals.rcu += units;
      else {
        totals.wcu += units;
        const table = typeof c.TableName === 'string' ? c.TableName : '?';
        totals.wcuByTable[table] = (totals.wcuByTable[table] ?? 0) + units;
      }
    }
  };
  return {
    totals: () => ({ ...totals, wcuByTable: { ...totals.wcuByTable } }),
    reset: () => {
      totals = empty();
    },
    attach(client) {
      if (attached.has(client.middlewareStack)) return;
      attached.add(client.middlewareStack);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const name = context.commandName ?? '';
          const kind = READ_COMMANDS.has(name) ? 'read' : WRITE_COMMANDS.has(name) ? 'write' : null;
          const input: unknown = args.input;
          if (kind !== null && isRecord(input) && input.ReturnConsumedCapacity === undefined)
            input.ReturnConsumedCapacity = 'TOTAL';
          if (inFlight === 0) busySince = performance.now();
          inFlight += 1;
          let result: Awaited<ReturnType<typeof next>>;
          try {
            result = await next(args);
          } finally {
            inFlight -= 1;
            if (inFlight === 0) totals.busyMs += performance.now() - busySince;
          }
          if (kind !== null) {
            if (kind === 'read') totals.readRequests += 1;
            else totals.writeRequests += 1;
            const output: unknown = result.output;
            if (isRecord(output)) add(output.ConsumedCapacity, kind);
          }
          return result;
        },
        { step: 'initialize', name: 'benchCapacityMeter' },
      );
    },
  };
}

/** DynamoDB Local plus helpers to make table sets and metered clients on it. */
export interface BenchDynamo {
  endpoint: string;
  meter: CapacityMeter;
  /** A metered DocumentClient on the local endpoint. */
  documentClient: DynamoDBDocumentClient;
  /** Creates the three tables under a fresh prefix. */
  createTableSet(label: string): Promise<TableNames>;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local in memory on a free loopback port. */
export async function startBenchDynamo(): Promise<BenchDynamo> {
  const local = await startDynamoDbLocal();
  return benchDynamoOn(local.endpoint, () => local.stop());
}

/** The benchmark's helpers on a DynamoDB Local that is already running (tests share one). */
export function benchDynamoOn(
  endpoint: string,
  stopLocal: () => Promise<void> = async () => {},
): BenchDynamo {
  const config = localClientConfig(endpoint);
  const meter = createCapacityMeter();
  const documentClient = createDocumentClient(config);
  meter.attach(documentClient);
  const admin = new DynamoDBClient(config);
  return {
    endpoint,
    meter,
    documentClient,
    async createTableSet(label) {
      const names = prefixedTableNames(`bench-${label}-${randomBytes(3).toString('hex')}-`);
      await createTables(admin, names);
      return names;
    },
    async stop() {
      documentClient.destroy();
      admin.destroy();
      await stopLocal();
    },
  };
}

import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * The local event source mapping: reads the streams of DynamoDB Local's tables (from the latest
 * record at start), collects records like Lambda's batching window, and hands them to the same
 * stream handler that runs in AWS, as a Lambda-shaped event. Records the handler reports as failed
 * (partial batch response) are delivered again, from the failed one on, up to `retryAttempts` times,
 * then dropped with a log line (in AWS: the dead-letter queue).
 */

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

/** Options of {@link startStreamPoller}. */
export interface StreamPollerOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tables: readonly string[];
  readonly handler: StreamHandler;
  /** Time between GetRecords rounds. @default 250 */
  readonly pollIntervalMs?: number;
  /** Records are delivered this long after the first one arrived (Lambda's batching window). @default 1000 */
  readonly batchWindowMs?: number;
  /** Records are delivered at once when this many are waiting. @default 1000 */
  readonly batchSize?: number;
  /** @default 3 */
  readonly retryAttempts?: number;
  /** Each Streams or DynamoDB call is abandoned after this long (a hung call never stalls the poller). @default 10,000 */
  readonly requestTimeoutMs?: number;
  /** Every stream is described again this often, to pick up shards opened since (rollover). @default 5,000 */
  readonly rediscoverEveryMs?: number;
  readonly log?: (line: string) => void;
  /** Called after each delivery (benchmarks, tests). */
  readonly onDelivered?: (records: number, failed: number) => void;
}

export interface StreamPoller {
  /** Resolves once two rounds in a row read nothing and nothing waits for delivery (tests, benchmarks). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

interface ShardCursor {
  readonly table: string;
  readonly streamArn: string;
  readonly shardId: string;
  /** read only once the parent shard is read to its end (a key's records stay in order) */
  readonly parentShardId?: string;
  iterator: string | undefined;
  /** the last record read, to re-position after a lost iterator */
  lastSequenceNumber?: string;
}

function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb;
  const created = data?.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? 'ddblocal',
    eventSourceARN: streamArn,
    dynamodb: {
      // Lambda sends epoch seconds where the SDK gives a Date.
      ...(created === undefined ? {} : { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) }),
      Keys: data?.Keys,
      NewImage: data?.NewImage,
      OldImage: data?.OldImage,
      SequenceNumber: data?.SequenceNumber,
      SizeBytes: data?.SizeBytes,
      StreamViewType: data?.StreamViewType,
    },
  } as DynamoDBRecord;
}

/**
 * Errors after which a cursor is positioned again and the stream described again: an expired or
 * trimmed iterator, and the shard DynamoDB Local sometimes forgets (`ResourceNotFoundException:
 * Invalid ShardId in ShardIterator`).
 */
function isLostPosition(error: unknown): boolean {
  return (
    error instanceof Error &&
    (/Trimmed|Expired/.test(error.name) ||
      (error.name === 'ResourceNotFoundException' && /shard/i.test(error.message)))
  );
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Starts polling; resolves once every table's stream is positioned at its latest record. */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const batchWindowMs = options.batchWindowMs ?? 1000;
  const retryAttempts = options.retryAttempts ?? 3;
  const batchSize = options.batchSize ?? 1000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const rediscoverEveryMs = options.rediscoverEveryMs ?? 5_000;
  const log = options.log ?? (() => {});
  const cursors: ShardCursor[] = [];
  const known = new Set<string>();
  const streamsOf = new Map<string, string>();
  /** Runs one call, abandoned (and aborted) after `requestTimeoutMs`: a hung call never stalls the poller. */
  const bounded = async <T>(call: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no answer within ${requestTimeoutMs} ms`);
        error.name = 'TimeoutError';
        controller.abort(error);
        reject(error);
      }, requestTimeoutMs);
    });
    try {
      return await Promise.race([call({ abortSignal: controller.signal }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const addShards = async (table: string, streamArn: string, position: 'LATEST' | 'TRIM_HORIZON') => {
    let exclusiveStartShardId: string | undefined;
    do {
      const description = await bounded((o) =>
        options.streams.send(
          new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
          o,
        ),
      );
      for (const shard of description.StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined || known.has(shard.ShardId)) continue;
        // Closed shards hold only records from before the start (LATEST) or already read.
        if (position === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
          known.add(shard.ShardId);
          continue;
        }
        const shardId = shard.ShardId;
        const iterator = await bounded((o) =>
          options.streams.send(
            new GetShardIteratorCommand({
              StreamArn: streamArn,
              ShardId: shardId,
              ShardIteratorType: position,
            }),
            o,
          ),
        );
        known.add(shard.ShardId);
        cursors.push({
          table,
          streamArn,
          shardId: shard.ShardId,
          ...(shard.ParentShardId === undefined ? {} : { parentShardId: shard.ParentShardId }),
          iterator: iterator.ShardIterator,
        });
      }
      exclusiveStartShardId = description.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
  };

  for (const table of options.tables) {
    const described = await bounded((o) =>
      options.dynamodb.send(new DescribeTableCommand({ TableName: table }), o),
    );
    const streamArn = described.Table?.LatestStreamArn;
    if (streamArn === undefined) throw new Error(`table ${table} has no stream`);
    streamsOf.set(table, streamArn);
    await addShards(table, streamArn, 'LATEST');
  }
  let discoveredAt = Date.now();
  /** Looks for shards opened since (read from their oldest record); false when describing failed. */
  const describeAgain = (table: string, streamArn: string): Promise<boolean> =>
    addShards(table, streamArn, 'TRIM_HORIZON').then(
      () => true,
      (error: unknown) => {
        log(`live stream: describing ${table} failed (${describeError(error)})`);
        return false;
      },
    );

  let pending: DynamoDBRecord[] = [];
  let firstPendingAt = 0;
  let attempts = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const deliver = async () => {
    const batch = pending;
    const response = await options.handler({ Records: batch }).catch((error: unknown) => {
      log(`live stream handler failed: ${error instanceof Error ? error.message : String(error)}`);
      return { batchItemFailures: [{ itemIdentifier: batch[0]?.dynamodb?.SequenceNumber ?? '' }] };
    });
    const failures = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    options.onDelivered?.(batch.length, failures.size);
    if (failures.size === 0) {
      pending = [];
      attempts = 0;
      return;
    }
    attempts += 1;
    const firstFailed = batch.findIndex((record) => failures.has(record.dynamodb?.SequenceNumber ?? ''));
    if (attempts > retryAttempts || firstFailed === -1) {
      log(
        `live stream: ${batch.length - Math.max(0, firstFailed)} records dropped after ${attempts} attempts`,
      );
      pending = [];
      attempts = 0;
      return;
    }
    pending = batch.slice(firstFailed);
    firstPendingAt = Date.now();
  };

  const readPage = (iterator: string) =>
    bounded((o) => options.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }), o));

  const reposition = async (cursor: ShardCursor): Promise<string | undefined> => {
    const iterator = (
      input: Omit<ConstructorParameters<typeof GetShardIteratorCommand>[0], 'StreamArn' | 'ShardId'>,
    ) =>
      bounded((o) =>
        options.streams.send(
          new GetShardIteratorCommand({ StreamArn: cursor.streamArn, ShardId: cursor.shardId, ...input }),
          o,
        ),
      ).then((answer) => answer.ShardIterator);
    try {
      if (cursor.lastSequenceNumber !== undefined) {
        const after = await iterator({
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          SequenceNumber: cursor.lastSequenceNumber,
        }).catch(() => undefined);
        if (after !== undefined) return after;
      }
      // Nothing read yet, or that record is gone: from the oldest record kept (a change delivered
      // twice is harmless, a change lost is not).
      return await iterator({ ShardIteratorType: 'TRIM_HORIZON' });
    } catch (error) {
      log(
        `live stream: shard ${cursor.shardId} lost (${error instanceof Error ? error.name : String(error)})`,
      );
      return undefined;
    }
  };

  let quietRounds = 0;
  const drains: Array<{ after: number; resolve: () => void }> = [];
  let roundNumber = 0;

  /** A cursor still reading (a child shard waits for it). */
  const isOpen = (shardId: string | undefined) =>
    shardId !== undefined && cursors.some((c) => c.shardId === shardId && c.iterator !== undefined);

  const poll = async () => {
    roundNumber += 1;
    const before = pending.length;
    let read = 0;
    let failed = false;
    // Shards open and close on their own (rollover): describe every stream again now and then.
    if (Date.now() - discoveredAt >= rediscoverEveryMs) {
      discoveredAt = Date.now();
      for (const [table, streamArn] of streamsOf) if (!(await describeAgain(table, streamArn))) failed = true;
    }
    for (const cursor of [...cursors]) {
      if (cursor.iterator === undefined || isOpen(cursor.parentShardId)) continue;
      let page: Awaited<ReturnType<typeof readPage>>;
      try {
        page = await readPage(cursor.iterator);
      } catch (error) {
        failed = true;
        if (!isLostPosition(error)) {
          // A slow or failed call: this shard is read again next round, the others carry on.
          log(`live stream: ${cursor.table} shard ${cursor.shardId}: ${describeError(error)}`);
          continue;
        }
        // DynamoDB Local's shards are ephemeral and iterators expire: position again after the last
        // record read (or at the oldest one kept), and pick up new shards.
        log(
          `live stream: ${cursor.table} shard ${cursor.shardId}: ${describeError(error)}, positioned again`,
        );
        cursor.iterator = await reposition(cursor);
        await describeAgain(cursor.table, cursor.streamArn);
        continue;
      }
      cursor.iterator = page.NextShardIterator;
      for (const record of page.Records ?? []) {
        if (pending.length === 0) firstPendingAt = Date.now();
        pending.push(toLambdaRecord(record, cursor.streamArn));
        cursor.lastSequenceNumber = record.dynamodb?.SequenceNumber ?? cursor.lastSequenceNumber;
        read += 1;
      }
      // A closed shard: its children carry on.
      if (cursor.iterator === undefined && !(await describeAgain(cursor.table, cursor.streamArn)))
        failed = true;
    }
    // Like Lambda's batching window: records gather until the window since the first one has passed
    // (so one quick pass's writes, spread over a second, reach clients as one message) or a batch is full.
    if (pending.length > 0 && (pending.length >= batchSize || Date.now() - firstPendingAt >= batchWindowMs))
      await deliver();
    // A round with a failed call is never quiet: what it could not read may be waiting.
    quietRounds = !failed && read === 0 && before === 0 && pending.length === 0 ? quietRounds + 1 : 0;
    for (const waiter of [...drains]) {
      if (quietRounds >= 2 && roundNumber >= waiter.after + 2) {
        drains.splice(drains.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = poll()
        .catch((error: unknown) =>
          log(`live stream poll failed: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(schedule);
    }, pollIntervalMs);
  };
  schedule();

  return {
    drain: () => new Promise<void>((resolve) => drains.push({ after: roundNumber, resolve })),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await round;
    },
  };
}

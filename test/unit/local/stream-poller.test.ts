import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StreamPoller, startStreamPoller } from '#local/live/stream-poller.ts';

/**
 * The local event source mapping's error paths, which DynamoDB Local produces only now and then
 * (a forgotten shard, a rollover, a call that never answers): on mocked Streams and DynamoDB
 * clients. The happy path runs on DynamoDB Local in test/integration/live.
 */

const ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/1';
const dynamodb = mockClient(DynamoDBClient);
const streams = mockClient(DynamoDBStreamsClient);

function record(sequence: string) {
  return {
    eventID: sequence,
    eventName: 'MODIFY' as const,
    dynamodb: { SequenceNumber: sequence, Keys: { pk: { S: sequence } } },
  };
}

let poller: StreamPoller | undefined;
let delivered: string[];
let lines: string[];

async function start(extra: Partial<Parameters<typeof startStreamPoller>[0]> = {}) {
  poller = await startStreamPoller({
    dynamodb: new DynamoDBClient({ region: 'local' }),
    streams: new DynamoDBStreamsClient({ region: 'local' }),
    tables: ['t'],
    handler: async (event: DynamoDBStreamEvent) => {
      for (const r of event.Records) delivered.push(r.dynamodb?.SequenceNumber ?? '');
      return { batchItemFailures: [] };
    },
    pollIntervalMs: 5,
    batchWindowMs: 0,
    log: (line) => lines.push(line),
    ...extra,
  });
  return poller;
}

const shards = (...list: Shard[]) => ({ StreamDescription: { Shards: list } });

beforeEach(() => {
  dynamodb.reset();
  streams.reset();
  delivered = [];
  lines = [];
  dynamodb.on(DescribeTableCommand).resolves({ Table: { LatestStreamArn: ARN } });
  streams.on(GetShardIteratorCommand).callsFake((input) => ({ ShardIterator: `${input.ShardId}@start` }));
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

describe('the local stream poller', () => {
  it('positions a forgotten shard again and carries on, and a drain waits for it', async () => {
    streams.on(DescribeStreamCommand).resolves(shards({ ShardId: 's1' }));
    let calls = 0;
    streams.on(GetRecordsCommand).callsFake(() => {
      calls += 1;
      // DynamoDB Local's undocumented answer for a shard it no longer knows
      if (calls <= 2)
        throw new ResourceNotFoundException({ message: 'Invalid ShardId in ShardIterator', $metadata: {} });
      if (calls === 3) return { Records: [record('1')], NextShardIterator: 's1@next' };
      return { Records: [], NextShardIterator: 's1@next' };
    });
    await (await start()).drain();
    expect(delivered).toEqual(['1']);
    expect(lines.some((line) => /Invalid ShardId.*positioned again/.test(line))).toBe(true);
    const positions = streams
      .commandCalls(GetShardIteratorCommand)
      .map((c) => c.args[0].input.ShardIteratorType);
    // LATEST at start, then from the oldest record kept (nothing had been read yet)
    expect(positions[0]).toBe('LATEST');
    expect(positions.slice(1)).toContain('TRIM_HORIZON');
  });

  it('abandons a call that never answers and reads the shard again', async () => {
    streams.on(DescribeStreamCommand).resolves(shards({ ShardId: 's1' }));
    let calls = 0;
    streams.on(GetRecordsCommand).callsFake(() => {
      calls += 1;
      if (calls === 1) return new Promise(() => {}); // hangs
      if (calls === 2) return { Records: [record('7')], NextShardIterator: 's1@next' };
      return { Records: [], NextShardIterator: 's1@next' };
    });
    await (await start({ requestTimeoutMs: 50 })).drain();
    expect(delivered).toEqual(['7']);
    expect(lines.some((line) => /TimeoutError: no answer within 50 ms/.test(line))).toBe(true);
  });

  it('finds a shard opened after the start and reads it only once its parent is read to the end', async () => {
    let described = 0;
    streams.on(DescribeStreamCommand).callsFake(() => {
      described += 1;
      return described === 1
        ? shards({ ShardId: 'p' })
        : shards(
            { ShardId: 'p', SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '2' } },
            { ShardId: 'c', ParentShardId: 'p' },
          );
    });
    const reads: string[] = [];
    streams.on(GetRecordsCommand).callsFake((input) => {
      const shard = String(input.ShardIterator).split('@')[0] ?? '';
      reads.push(shard);
      const nth = reads.filter((s) => s === shard).length;
      // the parent: one record a read, closed after the second (no next iterator)
      if (shard === 'p')
        return nth === 1
          ? { Records: [record('1')], NextShardIterator: 'p@next' }
          : { Records: [record('2')] };
      return { Records: nth === 1 ? [record('3')] : [], NextShardIterator: 'c@next' };
    });
    await (await start({ rediscoverEveryMs: 0 })).drain();
    expect(delivered).toEqual(['1', '2', '3']);
    // the child was found by describing the stream again, and waited for the parent's end
    expect(reads.indexOf('c')).toBeGreaterThan(reads.lastIndexOf('p'));
  });
});

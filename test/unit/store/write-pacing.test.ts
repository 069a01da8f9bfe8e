import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { attachWritePacing, TokenBucket, writeUnitsByTable } from '#shared/store/dynamodb/write-pacing.ts';

const settings = (clock: { t: number }) => ({
  initialRate: 100,
  minRate: 10,
  maxRate: 400,
  increasePerSecond: 20,
  now: () => clock.t,
});

describe('TokenBucket', () => {
  it('lets a second’s worth through, then asks the writer to wait for the refill', () => {
    const clock = { t: 0 };
    const bucket = new TokenBucket(settings(clock));
    expect(bucket.reserve(100)).toBe(0);
    expect(bucket.reserve(25)).toBe(250);
    clock.t += 250;
    expect(bucket.reserve(25)).toBe(0);
  });

  it('halves its rate on throttling (once per burst) and grows it back while writes succeed', () => {
    const clock = { t: 0 };
    const bucket = new TokenBucket(settings(clock));
    bucket.throttled();
    bucket.throttled();
    expect(bucket.rate).toBe(50);
    clock.t += 600;
    bucket.throttled();
    expect(bucket.rate).toBe(25);
    for (let i = 0; i < 100; i += 1) bucket.throttled();
    clock.t += 10_000;
    bucket.throttled();
    bucket.throttled();
    expect(bucket.rate).toBeGreaterThanOrEqual(10);
    clock.t += 2_000;
    const before = bucket.rate;
    bucket.succeeded();
    expect(bucket.rate).toBe(before + 40);
    clock.t += 1_000_000;
    bucket.succeeded();
    expect(bucket.rate).toBe(400);
  });
});

describe('writeUnitsByTable', () => {
  it('counts items per table: batches by request, transactions twice', () => {
    expect(writeUnitsByTable('PutItemCommand', { TableName: 't' })).toEqual(new Map([['t', 1]]));
    expect(
      writeUnitsByTable('BatchWriteItemCommand', { RequestItems: { t: [{}, {}, {}], u: [{}] } }),
    ).toEqual(
      new Map([
        ['t', 3],
        ['u', 1],
      ]),
    );
    expect(
      writeUnitsByTable('TransactWriteItemsCommand', {
        TransactItems: [{ Put: { TableName: 't' } }, { Update: { TableName: 't' } }],
      }),
    ).toEqual(new Map([['t', 4]]));
  });
});

/**
 * A client whose requests never leave the process: a last middleware answers in DynamoDB's place
 * (the pacing runs in front of it, as it runs in front of the service).
 */
function fakeService(answer: (attempt: number) => 'ok' | 'throttle') {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  let attempts = 0;
  client.middlewareStack.add(
    () => async () => {
      attempts += 1;
      if (answer(attempts) === 'throttle') {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      }
      return { output: { $metadata: {} }, response: {} };
    },
    { step: 'initialize', name: 'fakeService', priority: 'low' },
  );
  return { client, attempts: () => attempts };
}

describe('attachWritePacing', () => {
  it('retries a throttled write within its budget and slows the table down', async () => {
    const service = fakeService((attempt) => (attempt <= 2 ? 'throttle' : 'ok'));
    const clock = { t: 0 };
    const pacer = attachWritePacing(service.client, {
      ...settings(clock),
      sleep: async (ms) => {
        clock.t += ms;
      },
      random: () => 0.5,
    });
    await service.client.send(new PutCommand({ TableName: 't', Item: { pk: 'a' } }));
    expect(service.attempts()).toBe(3);
    expect(pacer.state('t')?.throttles).toBe(2);
    expect(pacer.state('t')?.retries).toBe(2);
    expect(pacer.state('t')?.rate).toBeLessThan(100);
  });

  it('passes the throttling error on once the retry budget is spent', async () => {
    const service = fakeService(() => 'throttle');
    const clock = { t: 0 };
    let slept = 0;
    attachWritePacing(service.client, {
      ...settings(clock),
      retryBudgetMs: 10_000,
      sleep: async (ms) => {
        slept += ms;
        clock.t += ms;
      },
      random: () => 1,
    });
    await expect(service.client.send(new PutCommand({ TableName: 't', Item: { pk: 'a' } }))).rejects.toThrow(
      ProvisionedThroughputExceededException,
    );
    expect(service.attempts()).toBeGreaterThan(3);
    expect(slept).toBeLessThanOrEqual(10_000 + 2_000);
  });

  it('paces a burst of writes to the table’s rate', async () => {
    const service = fakeService(() => 'ok');
    const clock = { t: 0 };
    attachWritePacing(service.client, {
      ...settings(clock),
      sleep: async (ms) => {
        clock.t += ms;
      },
    });
    for (let i = 0; i < 300; i += 1) {
      await service.client.send(new PutCommand({ TableName: 't', Item: { pk: `k${i}` } }));
    }
    // 100 units/s at first, growing by 20/s: 300 writes cannot fit in the first 2 seconds.
    expect(clock.t).toBeGreaterThan(1_500);
    expect(service.attempts()).toBe(300);
  });
});

import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '#shared/store/dynamodb/batch-operations.ts';
import { InvalidCursorError } from '#shared/store/dynamodb/errors.ts';
import { DynamoDbInventoryRepository } from '#shared/store/dynamodb/inventory-repository.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';
import { newVm } from './fixtures.ts';

let tables: TestTables;
let repo: DynamoDbInventoryRepository;
const fastRetry = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5 };

beforeAll(async () => {
  tables = await createTestTables('inventory');
  repo = new DynamoDbInventoryRepository(tables.documentClient, tables.names.inventory, {
    retryPolicy: fastRetry,
  });
});

afterAll(async () => {
  await tables?.drop();
});

describe('observation write guard', () => {
  it('lets an older observation lose to a newer one', async () => {
    await repo.putNew([newVm('guard', 101, { status: 'stopped', observed_at: 1_000 })]);

    const newer = await repo.applyChanges([
      { key: { cluster_id: 'guard', vmid: 101 }, observedAt: 2_000, set: { status: 'running' } },
    ]);
    const older = await repo.applyChanges([
      { key: { cluster_id: 'guard', vmid: 101 }, observedAt: 1_500, set: { status: 'stopped' } },
    ]);

    expect(newer.applied).toHaveLength(1);
    expect(newer.writes).toBe(1);
    expect(older.rejected).toEqual([{ cluster_id: 'guard', vmid: 101 }]);
    expect(older.writes).toBe(0);
    expect(older.capacityUnits).toBeGreaterThanOrEqual(1);
    const stored = await repo.getVm({ cluster_id: 'guard', vmid: 101 }, { consistentRead: true });
    expect(stored).toMatchObject({ status: 'running', observed_at: 2_000 });
  });

  it('writes only the changed attributes', async () => {
    await repo.putNew([newVm('guard', 102, { name: 'original', ip: '10.0.0.2' })]);
    await repo.applyChanges([
      { key: { cluster_id: 'guard', vmid: 102 }, observedAt: 2_000, set: { ip: '10.0.0.3' } },
    ]);
    expect(await repo.getVm({ cluster_id: 'guard', vmid: 102 }, { consistentRead: true })).toMatchObject({
      name: 'original',
      ip: '10.0.0.3',
      observed_at: 2_000,
    });
  });

  it('does not let an observation that started before a user action overwrite it', async () => {
    const key = { cluster_id: 'guard', vmid: 103 };
    await repo.putNew([newVm('guard', 103, { status: 'stopped', observed_at: 1_000 })]);
    // The user starts the VM at t=3000 while a sync observation that began at t=2500 is still running.
    expect(await repo.setPending({ key, action: 'start', since: 3_000 })).toEqual({ outcome: 'set' });

    const late = await repo.applyChanges([
      { key, observedAt: 2_500, set: { status: 'stopped', ip: '10.6.6.6' } },
    ]);
    expect(late.rejected).toEqual([key]);
    expect(await repo.getVm(key, { consistentRead: true })).toMatchObject({
      status: 'stopped',
      ip: newVm('guard', 103).ip,
      pending_action: 'start',
      pending_since: 3_000,
    });

    // The action is confirmed; an observation that began after it may write (and still loses to nothing newer).
    expect(await repo.clearPending(key, 3_000, { observedAt: 3_200, set: { status: 'running' } })).toBe(true);
    expect(
      (await repo.applyChanges([{ key, observedAt: 3_100, set: { status: 'stopped' } }])).rejected,
    ).toEqual([key]);
    expect((await repo.applyChanges([{ key, observedAt: 4_000, set: { ip: '10.9.9.9' } }])).applied).toEqual([
      key,
    ]);
    const stored = await repo.getVm(key, { consistentRead: true });
    expect(stored).toMatchObject({ status: 'running', ip: '10.9.9.9', observed_at: 4_000 });
    expect(stored?.pending_action).toBeUndefined();
  });

  it('lets an observation that began after the action write while the action is still pending', async () => {
    const key = { cluster_id: 'guard', vmid: 108 };
    await repo.putNew([newVm('guard', 108, { status: 'stopped', observed_at: 1_000 })]);
    await repo.setPending({ key, action: 'start', since: 3_000 });
    expect((await repo.applyChanges([{ key, observedAt: 3_500, set: { ip: '10.8.8.8' } }])).applied).toEqual([
      key,
    ]);
    expect(await repo.getVm(key, { consistentRead: true })).toMatchObject({
      ip: '10.8.8.8',
      pending_action: 'start',
    });
  });

  it('records one pending action at a time until it expires or ends', async () => {
    const key = { cluster_id: 'guard', vmid: 104 };
    await repo.putNew([newVm('guard', 104)]);
    expect(await repo.setPending({ key, action: 'shutdown', since: 10_000 })).toEqual({ outcome: 'set' });
    expect(await repo.setPendingUpid(key, 10_000, 'UPID:pve0:1')).toBe(true);
    expect(await repo.setPending({ key, action: 'shutdown', since: 15_000 })).toEqual({
      outcome: 'already-pending',
      pending: { pending_action: 'shutdown', pending_since: 10_000, pending_upid: 'UPID:pve0:1' },
    });
    // Past the 120 s expiry a new action may replace it.
    expect(await repo.setPending({ key, action: 'start', since: 10_000 + 120_001 })).toEqual({
      outcome: 'set',
    });
    expect(await repo.clearPending(key, 10_000)).toBe(false);
    expect(await repo.clearPending(key, 130_001)).toBe(true);
    const stored = await repo.getVm(key, { consistentRead: true });
    expect(stored?.pending_action).toBeUndefined();
    expect(
      await repo.setPending({ key: { cluster_id: 'guard', vmid: 9999 }, action: 'start', since: 1 }),
    ).toEqual({
      outcome: 'not-found',
    });
  });

  it('keeps the confirmed state out when a newer observation wrote first, but still ends the action', async () => {
    const key = { cluster_id: 'guard', vmid: 105 };
    await repo.putNew([newVm('guard', 105, { status: 'stopped' })]);
    await repo.setPending({ key, action: 'start', since: 5_000 });
    await repo.applyChanges([{ key, observedAt: 6_000, set: { status: 'running' } }]);
    expect(await repo.clearPending(key, 5_000, { observedAt: 5_500, set: { status: 'paused' } })).toBe(true);
    expect(await repo.getVm(key, { consistentRead: true })).toMatchObject({
      status: 'running',
      observed_at: 6_000,
    });
  });

  it('refuses to create an existing VM and to update a missing one', async () => {
    await repo.putNew([newVm('guard', 106)]);
    const again = await repo.putNew([newVm('guard', 106, { name: 'other' })]);
    expect(again.rejected).toHaveLength(1);
    const missing = await repo.applyChanges([
      { key: { cluster_id: 'guard', vmid: 107 }, observedAt: 9_000, set: { name: 'x' } },
    ]);
    expect(missing.rejected).toHaveLength(1);
    expect(await repo.getVm({ cluster_id: 'guard', vmid: 107 })).toBeNull();
  });

  it('deletes a removed VM only for a newer observation and no newer action', async () => {
    await repo.putNew([
      newVm('gone', 201, { observed_at: 2_000 }),
      newVm('gone', 202, { observed_at: 2_000 }),
    ]);
    await repo.setPending({ key: { cluster_id: 'gone', vmid: 202 }, action: 'start', since: 4_000 });
    const result = await repo.deleteVms([
      { key: { cluster_id: 'gone', vmid: 201 }, observedAt: 1_000 },
      { key: { cluster_id: 'gone', vmid: 202 }, observedAt: 3_000 },
    ]);
    expect(result.rejected).toHaveLength(2);
    const ok = await repo.deleteVms([{ key: { cluster_id: 'gone', vmid: 201 }, observedAt: 3_000 }]);
    expect(ok).toMatchObject({ writes: 1, applied: [{ cluster_id: 'gone', vmid: 201 }] });
    expect(await repo.getVm({ cluster_id: 'gone', vmid: 201 }, { consistentRead: true })).toBeNull();
  });

  it('rejects values that do not fit the record', async () => {
    await expect(
      repo.applyChanges([
        { key: { cluster_id: 'guard', vmid: 101 }, observedAt: 9_000, set: { memory: -5 } },
      ]),
    ).rejects.toThrow();
  });
});

describe('errors index', () => {
  it('lists the VMs with a sync_error and forgets them once cleared', async () => {
    await repo.putNew([newVm('errs', 301), newVm('errs', 302, { sync_error: 'agent timeout' })]);
    await repo.applyChanges([
      { key: { cluster_id: 'errs', vmid: 301 }, observedAt: 2_000, set: { sync_error: 'config 500' } },
    ]);
    expect((await repo.listErrorVms('errs')).map((e) => [e.vmid, e.sync_error])).toEqual([
      [301, 'config 500'],
      [302, 'agent timeout'],
    ]);
    await repo.applyChanges([
      { key: { cluster_id: 'errs', vmid: 302 }, observedAt: 2_000, set: { sync_error: null } },
    ]);
    expect((await repo.listErrorVms('errs')).map((e) => e.vmid)).toEqual([301]);
  });
});

describe('reading a 3,000-VM cluster', () => {
  const count = 3000;
  const vmids = Array.from({ length: count }, (_, i) => 100 + i * 7);

  beforeAll(async () => {
    const report = await repo.batchPut(vmids.map((vmid) => newVm('big', vmid)));
    expect(report.writes).toBe(count);
    await repo.batchPut([newVm('big-neighbour', 100), newVm('bi', 100)]);
  });

  it('pages through every VM exactly once, in order, with no gap', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof repo.listClusterVms>> = await repo.listClusterVms('big', {
        limit: 250,
        cursor,
      });
      expect(page.items.length).toBeLessThanOrEqual(250);
      seen.push(...page.items.map((vm) => vm.vmid));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(vmids);
    expect(new Set(seen).size).toBe(count);
    expect(pages).toBeGreaterThanOrEqual(12);
  });

  it('reads everything past the 1 MB query page limit', async () => {
    const all = await repo.listAllClusterVms('big');
    expect(all.map((vm) => vm.vmid)).toEqual(vmids);
  });

  it('refuses a cursor of another cluster or a forged one', async () => {
    const first = await repo.listClusterVms('big', { limit: 10 });
    await expect(repo.listClusterVms('big-neighbour', { cursor: first.cursor })).rejects.toThrow(
      InvalidCursorError,
    );
    await expect(repo.listClusterVms('big', { cursor: 'garbage' })).rejects.toThrow(InvalidCursorError);
  });

  it('reads a set of keys in batches, leaving out missing ones', async () => {
    const keys = [...vmids.slice(0, 250), 99_999, 99_998].map((vmid) => ({ cluster_id: 'big', vmid }));
    const items = await repo.getVms([...keys, keys[0] ?? { cluster_id: 'big', vmid: 100 }]);
    expect(items.map((vm) => vm.vmid).sort((a, b) => a - b)).toEqual(vmids.slice(0, 250));
  });
});

/**
 * Wraps a DocumentClient so that its first BatchWrite only forwards the first half of its items and
 * reports the rest as unprocessed, as DynamoDB does under throttling. Records every item key that
 * reached DynamoDB.
 */
function withPartialBatchFailure(client: DynamoDBDocumentClient, tableName: string) {
  const forwarded: string[] = [];
  let failuresLeft = 1;
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (...args: unknown[]) => {
        const [command] = args;
        if (!(command instanceof BatchWriteCommand)) return Reflect.apply(target.send, target, args);
        const requests = command.input.RequestItems?.[tableName] ?? [];
        const keyOf = (r: (typeof requests)[number]) =>
          `${r.PutRequest?.Item?.cluster_id}/${r.PutRequest?.Item?.vmid}`;
        if (failuresLeft > 0 && requests.length > 1) {
          failuresLeft--;
          const half = Math.floor(requests.length / 2);
          const result = await target.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: requests.slice(0, half) } }),
          );
          forwarded.push(...requests.slice(0, half).map(keyOf));
          return { ...result, UnprocessedItems: { [tableName]: requests.slice(half) } };
        }
        forwarded.push(...requests.map(keyOf));
        return target.send(command);
      };
    },
  });
  return { client: proxy, forwarded };
}

describe('batch retry of unprocessed items', () => {
  it('writes everything exactly once after an injected partial failure', async () => {
    const injected = withPartialBatchFailure(tables.documentClient, tables.names.inventory);
    const flaky = new DynamoDbInventoryRepository(injected.client, tables.names.inventory, {
      retryPolicy: fastRetry,
    });
    const vms = Array.from({ length: 60 }, (_, i) => newVm('batch', 1000 + i));

    const report = await flaky.batchPut(vms);

    expect(report.writes).toBe(60);
    expect(injected.forwarded).toHaveLength(60);
    expect(new Set(injected.forwarded).size).toBe(60);
    const stored = await repo.listAllClusterVms('batch', { consistentRead: true });
    expect(stored.map((vm) => vm.vmid)).toEqual(vms.map((vm) => vm.vmid));
  });
});

import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeSample } from '#shared/domain/runtime-stats.ts';
import { DynamoDbSyncStateRepository } from '#shared/store/dynamodb/sync-state-repository.ts';
import { syncStateKeys } from '#shared/store/table-design.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

let tables: TestTables;
let repo: DynamoDbSyncStateRepository;

beforeAll(async () => {
  tables = await createTestTables('sync-state');
  repo = new DynamoDbSyncStateRepository(tables.documentClient, tables.names.syncState);
});

afterAll(async () => {
  await tables?.drop();
});

describe('leases', () => {
  // Leases of the quick kind live on cluster state items: on tables of their own, so that the
  // cluster-state tests below see only their clusters.
  let tables: TestTables;
  let repo: DynamoDbSyncStateRepository;
  beforeAll(async () => {
    tables = await createTestTables('sync-leases');
    repo = new DynamoDbSyncStateRepository(tables.documentClient, tables.names.syncState);
  });
  afterAll(async () => {
    await tables?.drop();
  });

  it.each(['full', 'quick'])(
    'gives a contested %s lease to exactly one of two concurrent acquirers',
    async (kind) => {
      for (let round = 0; round < 10; round++) {
        const clusterId = `race-${kind}-${round}`;
        const [a, b] = await Promise.all([
          repo.acquireLease({ clusterId, kind, owner: 'run-a', ttlMs: 60_000, nowMs: 1_000 }),
          repo.acquireLease({ clusterId, kind, owner: 'run-b', ttlMs: 60_000, nowMs: 1_000 }),
        ]);
        expect([a.acquired, b.acquired].filter(Boolean)).toHaveLength(1);
        const loser = a.acquired ? b : a;
        const winner = a.acquired ? 'run-a' : 'run-b';
        expect(loser).toEqual({
          acquired: false,
          holder: expect.objectContaining({ owner: winner, lease_expires_at: 61_000 }),
        });
      }
    },
  );

  it('can be taken again after it expires, judged by its expiry attribute', async () => {
    const clusterId = 'expiry';
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'a', ttlMs: 1_000, nowMs: 10_000 }))
        .acquired,
    ).toBe(true);
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'b', ttlMs: 1_000, nowMs: 10_999 }))
        .acquired,
    ).toBe(false);
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'b', ttlMs: 1_000, nowMs: 11_001 }))
        .acquired,
    ).toBe(true);
    expect(await repo.getLease(clusterId, 'quick')).toMatchObject({ owner: 'b', lease_expires_at: 12_001 });
  });

  it('keeps leases per kind, renews for its owner and releases only for its owner', async () => {
    const clusterId = 'kinds';
    expect(
      (await repo.acquireLease({ clusterId, kind: 'full', owner: 'f', ttlMs: 5_000, nowMs: 0 })).acquired,
    ).toBe(true);
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'q', ttlMs: 5_000, nowMs: 0 })).acquired,
    ).toBe(true);
    expect(
      (await repo.acquireLease({ clusterId, kind: 'full', owner: 'f', ttlMs: 5_000, nowMs: 1_000 })).acquired,
    ).toBe(true);
    expect(await repo.releaseLease(clusterId, 'full', 'q')).toBe(false);
    expect(await repo.releaseLease(clusterId, 'full', 'f')).toBe(true);
    expect(await repo.getLease(clusterId, 'full')).toBeNull();
    expect(
      (await repo.acquireLease({ clusterId, kind: 'full', owner: 'x', ttlMs: 5_000, nowMs: 1_000 })).acquired,
    ).toBe(true);
  });

  it('keeps the quick lease on the cluster state item, released by the state write that ends the pass', async () => {
    const clusterId = 'on-state';
    const raw = (key: { pk: string; sk: string }) =>
      tables.documentClient
        .send(new GetCommand({ TableName: tables.names.syncState, Key: key }))
        .then((r) => r.Item);
    await repo.updateClusterState(clusterId, { cluster_name: 'On state', consecutive_errors: 2 });
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'q1', ttlMs: 5_000, nowMs: 1_000 }))
        .acquired,
    ).toBe(true);
    // No lease item of its own: the acquire was one conditional update of the state item.
    expect(await raw(syncStateKeys.lease(clusterId, 'quick'))).toBeUndefined();
    expect(await repo.getLease(clusterId, 'quick')).toEqual({
      cluster_id: clusterId,
      kind: 'quick',
      owner: 'q1',
      acquired_at: 1_000,
      lease_expires_at: 6_000,
    });
    // The state keeps reading as before: the lease is not part of it.
    expect(await repo.getClusterState(clusterId)).toMatchObject({
      cluster_name: 'On state',
      consecutive_errors: 2,
    });
    expect(await repo.getClusterState(clusterId)).not.toHaveProperty('quick_lease');

    // Another owner's closing write leaves the lease alone but still writes the state.
    const other = await repo.updateClusterState(
      clusterId,
      { consecutive_errors: 3 },
      { releaseLease: { kind: 'quick', owner: 'q2' } },
    );
    expect(other).toMatchObject({ writes: 1, leaseReleased: false });
    expect(await repo.getLease(clusterId, 'quick')).toMatchObject({ owner: 'q1' });
    expect((await repo.getClusterState(clusterId))?.consecutive_errors).toBe(3);

    // The holder's closing write sets the state and frees the lease in one write.
    const closing = await repo.updateClusterState(
      clusterId,
      { consecutive_errors: 0, last_quick_sync_at: 1_000 },
      { releaseLease: { kind: 'quick', owner: 'q1' } },
    );
    expect(closing).toMatchObject({ writes: 1, leaseReleased: true });
    expect(await repo.getLease(clusterId, 'quick')).toBeNull();
    expect(await repo.getClusterState(clusterId)).toMatchObject({
      consecutive_errors: 0,
      last_quick_sync_at: 1_000,
    });
    expect(
      (await repo.acquireLease({ clusterId, kind: 'quick', owner: 'q3', ttlMs: 5_000, nowMs: 2_000 }))
        .acquired,
    ).toBe(true);
    // A full sync's lease keeps its own item; a state write never releases it.
    await repo.acquireLease({ clusterId, kind: 'full', owner: 'f', ttlMs: 5_000, nowMs: 2_000 });
    expect(await raw(syncStateKeys.lease(clusterId, 'full'))).toMatchObject({ owner: 'f' });
    expect(
      await repo.updateClusterState(
        clusterId,
        { consecutive_errors: 0 },
        { releaseLease: { kind: 'full', owner: 'f' } },
      ),
    ).toMatchObject({ leaseReleased: false });
    expect(await repo.getLease(clusterId, 'full')).toMatchObject({ owner: 'f' });
    expect(await repo.releaseLease(clusterId, 'quick', 'q3')).toBe(true);
    expect(await repo.getLease(clusterId, 'quick')).toBeNull();
  });

  it('refuses malformed kinds', async () => {
    await expect(
      repo.acquireLease({ clusterId: 'c', kind: 'Full#1', owner: 'o', ttlMs: 1 }),
    ).rejects.toThrow();
  });
});

describe('cluster state', () => {
  it('stores, patches and lists cluster states with defaults filled', async () => {
    await repo.putClusterState({ cluster_id: 'lab-a', cluster_name: 'Lab A', last_success_at: 1_000 });
    await repo.updateClusterState('lab-b', {
      consecutive_errors: 2,
      backoff_until: 9_000,
      last_error: 'refused',
    });
    await repo.updateClusterState('lab-a', {
      last_quick_sync_at: 2_000,
      nodes: { pve1: { online: true, last_seen_at: 2_000, last_online_at: 2_000 } },
      counts: { total: 10, running: 4, error: 1, templates: 0 },
    });

    expect(await repo.getClusterState('lab-a')).toMatchObject({
      cluster_name: 'Lab A',
      last_success_at: 1_000,
      last_quick_sync_at: 2_000,
      consecutive_errors: 0,
      nodes: { pve1: { online: true } },
      counts: { total: 10, running: 4, error: 1 },
    });
    expect(await repo.getClusterState('lab-b')).toMatchObject({
      consecutive_errors: 2,
      last_success_at: null,
    });
    expect((await repo.listClusterStates()).map((s) => s.cluster_id)).toEqual(['lab-a', 'lab-b']);
    expect(await repo.getClusterState('nope')).toBeNull();
  });

  it('keeps the read versions beside the states: a new token each bump, the rest of the state untouched', async () => {
    const before = await repo.getClusterState('lab-a');
    await repo.bumpInventoryVersion('lab-a');
    const first = (await repo.getClusterState('lab-a'))?.inventory_version;
    await repo.bumpInventoryVersion('lab-a');
    const second = await repo.getClusterState('lab-a');
    expect(first).toEqual(expect.any(String));
    expect(second?.inventory_version).toEqual(expect.any(String));
    expect(second?.inventory_version).not.toBe(first);
    expect({ ...second, inventory_version: undefined }).toEqual({ ...before, inventory_version: undefined });

    expect((await repo.readVersions()).ownershipVersion).toBeNull();
    await repo.bumpOwnershipVersion();
    const versions = await repo.readVersions();
    expect(versions.ownershipVersion).toEqual(expect.any(String));
    // The ownership version is no cluster: every reader of the states leaves it out.
    expect(versions.states.map((state) => state.cluster_id)).toEqual(['lab-a', 'lab-b']);
    expect((await repo.listClusterStates()).map((state) => state.cluster_id)).toEqual(['lab-a', 'lab-b']);
  });

  it('rejects bad patches before writing', async () => {
    await expect(repo.updateClusterState('lab-a', { consecutive_errors: -1 })).rejects.toThrow();
  });
});

describe('runtime sets', () => {
  const samples = (from: number, count: number, cpu: number): Map<number, RuntimeSample> =>
    new Map(
      Array.from({ length: count }, (_, i) => [from + i, { cpu_usage: cpu, memory_usage: 50 }] as const),
    );
  // Chunks of 2,000 samples, so that a few thousand guests show the chunking.
  let small: DynamoDbSyncStateRepository;
  const unreadable: { item: string; error: string }[] = [];
  beforeAll(() => {
    small = new DynamoDbSyncStateRepository(tables.documentClient, tables.names.syncState, {
      runtimeChunkMaxEntries: 2_000,
      onUnreadableRuntime: (detail) => unreadable.push(detail),
    });
  });

  it('keeps a cluster’s nodes in one item, chunked only beyond the limit, read merged per node', async () => {
    const report = await small.writeNodeRuntime({
      clusterId: 'rt',
      node: 'pve1',
      stats: samples(100, 4500, 12.34),
      observedAt: 1_000,
    });
    expect(report.writes).toBe(3);
    await small.writeNodeRuntime({
      clusterId: 'rt',
      node: 'pve2',
      stats: samples(9000, 10, 1),
      observedAt: 1_000,
    });

    const runtime = await small.readRuntime('rt');
    expect(runtime.get('pve1')?.observed_at).toBe(1_000);
    expect(runtime.get('pve2')?.observed_at).toBe(1_000);
    expect(runtime.get('pve1')?.stats.size).toBe(4500);
    expect(runtime.get('pve1')?.stats.get(4599)).toEqual({ cpu_usage: 12.3, memory_usage: 50 });
    expect(runtime.get('pve2')?.stats.size).toBe(10);
    const set = await small.readRuntimeSet('rt');
    expect(set).toMatchObject({ chunkCount: 3, legacyKeys: [] });
    expect(set.observedAt).toBeGreaterThan(1_000);
    // The same time again: the node's time still moves on (two sets of a node never share one).
    await small.writeNodeRuntime({
      clusterId: 'rt',
      node: 'pve2',
      stats: samples(9000, 10, 1),
      observedAt: 1_000,
    });
    expect((await small.readRuntime('rt')).get('pve2')?.observed_at).toBe(1_001);
  });

  it('replaces a larger set and deletes its leftover chunks; drops a node', async () => {
    await small.writeNodeRuntime({
      clusterId: 'rt',
      node: 'pve1',
      stats: samples(100, 5, 2),
      observedAt: 2_000,
    });
    const runtime = await small.readRuntime('rt');
    expect(runtime.get('pve1')).toMatchObject({ observed_at: 2_000 });
    expect(runtime.get('pve1')?.stats.size).toBe(5);
    expect((await small.readRuntimeSet('rt')).chunkCount).toBe(1);
    const left = await tables.documentClient.send(
      new GetCommand({ TableName: tables.names.syncState, Key: syncStateKeys.runtimeSet('rt', 1) }),
    );
    expect(left.Item).toBeUndefined();
    await small.deleteNodeRuntime('rt', 'pve1');
    expect([...(await small.readRuntime('rt')).keys()]).toEqual(['pve2']);
  });

  it('ignores leftovers of an older, larger set that a write did not get to delete', async () => {
    await small.writeRuntimeSet({
      clusterId: 'lo',
      runtime: new Map([['n', { node: 'n', observed_at: 10, stats: samples(100, 3000, 1) }]]),
      observedAt: 10,
      previous: { runtime: new Map(), observedAt: null, chunkCount: 0, legacyKeys: [] },
    });
    // A newer, smaller set whose writer did not know of the old chunk 1 (so it stays).
    await small.writeRuntimeSet({
      clusterId: 'lo',
      runtime: new Map([['n', { node: 'n', observed_at: 20, stats: samples(100, 2, 3) }]]),
      observedAt: 20,
      previous: { runtime: new Map(), observedAt: null, chunkCount: 0, legacyKeys: [] },
    });
    expect((await small.readRuntime('lo')).get('n')?.stats).toEqual(samples(100, 2, 3));
  });

  it('reads chosen nodes across clusters at once, completing clusters of several chunks', async () => {
    await small.writeNodeRuntime({ clusterId: 'nr-a', node: 'n1', stats: samples(100, 3, 5), observedAt: 1 });
    await small.writeNodeRuntime({ clusterId: 'nr-a', node: 'n2', stats: samples(200, 2, 6), observedAt: 1 });
    await small.writeNodeRuntime({
      clusterId: 'nr-b',
      node: 'n1',
      stats: samples(100, 4500, 7),
      observedAt: 1,
    });

    const runtimes = await small.readNodeRuntimes([
      { clusterId: 'nr-a', node: 'n1' },
      { clusterId: 'nr-b', node: 'n1' },
      { clusterId: 'nr-b', node: 'n1' },
      { clusterId: 'nr-c', node: 'missing' },
    ]);
    expect([...runtimes.keys()].sort()).toEqual(['nr-a', 'nr-b']);
    expect([...(runtimes.get('nr-a')?.keys() ?? [])]).toEqual(['n1']);
    expect(runtimes.get('nr-a')?.get('n1')?.stats.get(101)).toEqual({ cpu_usage: 5, memory_usage: 50 });
    expect(runtimes.get('nr-b')?.get('n1')).toEqual((await small.readRuntime('nr-b')).get('n1'));
    expect(runtimes.get('nr-b')?.get('n1')?.stats.size).toBe(4500);
  });

  it('reports a corrupt item and reads on without it', async () => {
    await small.writeNodeRuntime({ clusterId: 'bad', node: 'n1', stats: samples(100, 3, 5), observedAt: 1 });
    await tables.documentClient.send(
      new UpdateCommand({
        TableName: tables.names.syncState,
        Key: syncStateKeys.runtimeSet('bad', 0),
        UpdateExpression: 'SET packed = :p',
        ExpressionAttributeValues: { ':p': Uint8Array.from([1, 5, 200]) },
      }),
    );
    unreadable.length = 0;
    expect(await small.readRuntime('bad')).toEqual(new Map());
    expect((await small.readNodeRuntimes([{ clusterId: 'bad', node: 'n1' }])).get('bad')).toEqual(new Map());
    expect(unreadable).toEqual([
      expect.objectContaining({
        item: expect.stringContaining('RUNTIMESET#000'),
        error: expect.stringMatching(/truncated/),
      }),
      expect.objectContaining({ item: expect.stringContaining('RUNTIMESET#000') }),
    ]);
    // The next write replaces it.
    await small.writeNodeRuntime({ clusterId: 'bad', node: 'n1', stats: samples(100, 1, 9), observedAt: 2 });
    expect((await small.readRuntime('bad')).get('n1')?.stats).toEqual(samples(100, 1, 9));
  });

  it('reads items of the previous per-node format for the writer only, and deletes them with the first set', async () => {
    const legacy = (
      node: string,
      chunk: number,
      count: number,
      at: number,
      stats: Record<string, number[]>,
    ) =>
      tables.documentClient.send(
        new PutCommand({
          TableName: tables.names.syncState,
          Item: {
            ...syncStateKeys.runtime('old', node, chunk),
            cluster_id: 'old',
            node,
            chunk,
            chunk_count: count,
            observed_at: at,
            stats,
          },
        }),
      );
    await legacy('pve1', 0, 1, 5_000, { '101': [1.5, 20] });
    await legacy('pve2', 0, 1, 6_000, { '201': [2.5, 30] });
    // API readers see no set yet (one pass until the sync writes it).
    expect(await small.readRuntime('old')).toEqual(new Map());
    expect(await small.readNodeRuntimes([{ clusterId: 'old', node: 'pve1' }])).toEqual(new Map());
    const set = await small.readRuntimeSet('old');
    expect(set.observedAt).toBeNull();
    expect(set.legacyKeys.map((k) => k.sk).sort()).toEqual(['RUNTIME#pve1#000', 'RUNTIME#pve2#000']);
    expect(set.runtime.get('pve2')).toEqual({
      node: 'pve2',
      observed_at: 6_000,
      stats: new Map([[201, { cpu_usage: 2.5, memory_usage: 30 }]]),
    });
    const report = await small.writeRuntimeSet({
      clusterId: 'old',
      runtime: set.runtime,
      observedAt: 7_000,
      previous: set,
    });
    expect(report.writes).toBe(3);
    const after = await small.readRuntimeSet('old');
    expect(after).toMatchObject({ observedAt: 7_000, chunkCount: 1, legacyKeys: [] });
    expect(after.runtime).toEqual(set.runtime);
  });
});

describe('global run stats', () => {
  it('keeps the last run per mode', async () => {
    await repo.putGlobalRunStats({
      mode: 'full',
      finished_at: 5_000,
      clusters: 3,
      ok: 2,
      failed: 1,
      duration_ms: 900,
    });
    expect(await repo.getGlobalRunStats('full')).toEqual({
      mode: 'full',
      finished_at: 5_000,
      clusters: 3,
      ok: 2,
      failed: 1,
      duration_ms: 900,
    });
    expect(await repo.getGlobalRunStats('quick')).toBeNull();
  });
});

import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRefreshService,
  type RefreshServiceDeps,
  refreshReport,
} from '#shared/refresh/refresh-service.ts';
import { DynamoDbRefreshStore } from '#shared/refresh/refresh-store.ts';
import type { SyncInvoker } from '#shared/refresh/sync-invoker.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import { syncStateKeys } from '#shared/store/table-design.ts';
import type { SyncClusterInput, SyncSummary } from '#shared/sync/contract.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

let tables: TestTables;
let repos: Repositories;
let store: DynamoDbRefreshStore;
let clusterSeq = 0;

beforeAll(async () => {
  tables = await createTestTables('refresh');
  repos = createDynamoDbRepositories(tables.documentClient, tables.names);
  store = new DynamoDbRefreshStore(tables.documentClient, tables.names.syncState);
});

afterAll(async () => {
  await tables?.drop();
});

const summary = (input: SyncClusterInput, overrides: Partial<SyncSummary> = {}): SyncSummary => ({
  cluster_id: input.cluster_id,
  mode: input.mode,
  ok: true,
  vms: 3,
  changed: 1,
  writes: 1,
  proxmox_calls: 1,
  duration_ms: 5,
  ...overrides,
});

/** An invoker whose syncs end only when the test says so; counts every call. */
function gatedInvoker(result: (input: SyncClusterInput) => SyncSummary = (input) => summary(input)) {
  const calls: SyncClusterInput[] = [];
  const waiting: (() => void)[] = [];
  const invoker: SyncInvoker = {
    syncCluster(input) {
      calls.push(input);
      return new Promise((resolve) => waiting.push(() => resolve(result(input))));
    },
  };
  return {
    invoker,
    calls,
    /** Ends every sync started so far. */
    release() {
      for (const end of waiting.splice(0)) end();
    },
    /** Resolves once `count` syncs were asked for. */
    async called(count: number) {
      while (calls.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}

/** A service instance of its own (as in another Lambda instance) on the shared table. */
function instance(invoker: SyncInvoker, overrides: Partial<RefreshServiceDeps> = {}) {
  return createRefreshService({
    store,
    invoker,
    syncState: repos.syncState,
    pollIntervalMs: 10,
    ...overrides,
  });
}

const newCluster = () => `refresh-${++clusterSeq}`;
const inSeconds = (s: number) => Date.now() + s * 1000;

describe('refresh coordination across handler instances (DynamoDB Local)', () => {
  it("passes a live list's VMIDs and its deadline to the sync; joiners are complete only if their VMs were read", async () => {
    const cluster = newCluster();
    const gate = gatedInvoker((input) => summary(input, { details_refreshed: true }));
    const a = instance(gate.invoker);
    const b = instance(gate.invoker);
    const deadline = inSeconds(10);

    const first = a.refreshCluster(cluster, deadline, [107, 103]);
    await gate.called(1);
    const same = b.refreshCluster(cluster, deadline, [103]);
    const other = instance(gate.invoker).refreshCluster(cluster, deadline, [103, 999]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.release();

    expect(gate.calls).toEqual([
      { cluster_id: cluster, mode: 'quick', vmids: [103, 107], deadline_at: Math.round(deadline) },
    ]);
    expect(await first).toEqual({
      cluster_id: cluster,
      outcome: 'refreshed',
      details: 'read',
      complete: true,
    });
    expect(await same).toEqual({ cluster_id: cluster, outcome: 'joined', details: 'read', complete: true });
    // Another VM's address was not read by the refresh it joined: not complete, and said so.
    const missed = await other;
    expect(missed).toEqual({ cluster_id: cluster, outcome: 'joined', details: 'missed', complete: false });
    expect(refreshReport(missed)).toEqual({
      cluster_id: cluster,
      outcome: 'coalesced',
      reason: "joined a refresh another request started, which did not re-read these VMs' addresses",
    });
    // Within the interval: the record still says which addresses were read.
    expect(await b.refreshCluster(cluster, inSeconds(10), [107])).toMatchObject({
      outcome: 'recent',
      complete: true,
    });
    expect(gate.calls).toHaveLength(1);
  });

  it('is incomplete when the sync could not read every address in time', async () => {
    const cluster = newCluster();
    const gate = gatedInvoker((input) => summary(input, { details_refreshed: false }));
    const pending = instance(gate.invoker).refreshClusters({
      clusterIds: [cluster],
      reason: 'requested',
      deadlineMs: inSeconds(10),
      vmidsByCluster: new Map([[cluster, [101]]]),
    });
    await gate.called(1);
    gate.release();
    expect(await pending).toEqual({
      complete: false,
      clusters: [
        {
          cluster_id: cluster,
          outcome: 'timed_out',
          reason: 'status refreshed, but not every address was read before the deadline',
        },
      ],
    });
    expect(await store.get(cluster)).toMatchObject({ state: 'done', vmids: [101], details_done: false });
  });

  it('runs one sync for concurrent refreshes from two instances, the other joins it', async () => {
    const cluster = newCluster();
    const gate = gatedInvoker();
    const a = instance(gate.invoker);
    const b = instance(gate.invoker);

    const first = a.refreshCluster(cluster, inSeconds(10));
    await gate.called(1);
    const second = b.refreshCluster(cluster, inSeconds(10));
    const third = b.refreshCluster(cluster, inSeconds(10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.release();

    const outcomes = await Promise.all([first, second, third]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['refreshed', 'joined', 'joined']);
    expect(outcomes.every((o) => o.complete)).toBe(true);
    expect(gate.calls).toEqual([{ cluster_id: cluster, mode: 'quick', deadline_at: expect.any(Number) }]);
    expect(await store.get(cluster)).toMatchObject({ state: 'done' });
  });

  it('starts no second sync within 5 s of the last one, and one again after it', async () => {
    const cluster = newCluster();
    let clock = Date.now();
    const gate = gatedInvoker();
    const a = instance(gate.invoker, { now: () => clock });
    const b = instance(gate.invoker, { now: () => clock });

    const first = a.refreshCluster(cluster, clock + 10_000);
    await gate.called(1);
    gate.release();
    expect((await first).outcome).toBe('refreshed');

    clock += 4_900;
    const soon = await b.refreshCluster(cluster, clock + 10_000);
    expect(soon).toEqual({ cluster_id: cluster, outcome: 'recent', details: 'none', complete: true });
    expect(gate.calls).toHaveLength(1);

    clock += 200;
    const later = b.refreshCluster(cluster, clock + 10_000);
    await gate.called(2);
    gate.release();
    expect((await later).outcome).toBe('refreshed');
  });

  it('answers timeout past the deadline (flagged stale) while the sync goes on', async () => {
    const cluster = newCluster();
    const gate = gatedInvoker();
    const service = instance(gate.invoker);
    const outcome = await service.refreshCluster(cluster, Date.now() + 100);
    expect(outcome).toEqual({ cluster_id: cluster, outcome: 'timeout', details: 'none', complete: false });
    expect(await store.get(cluster)).toMatchObject({ state: 'running' });
    const port = await service.refreshClusters({
      clusterIds: [cluster],
      reason: 'requested',
      deadlineMs: Date.now() + 50,
    });
    expect(port).toEqual({
      complete: false,
      clusters: [
        {
          cluster_id: cluster,
          outcome: 'timed_out',
          reason: 'not done before the deadline; the refresh goes on',
        },
      ],
    });
    gate.release();
    await expect.poll(async () => (await store.get(cluster))?.state).toBe('done');
    expect(gate.calls).toHaveLength(1);
  });

  it('reports a failed sync as incomplete and does not retry it within the interval', async () => {
    const cluster = newCluster();
    const gate = gatedInvoker((input) => summary(input, { ok: false, error: 'connection refused' }));
    const a = instance(gate.invoker);
    const pending = a.refreshCluster(cluster, inSeconds(10));
    await gate.called(1);
    gate.release();
    expect(await pending).toEqual({
      cluster_id: cluster,
      outcome: 'failed',
      details: 'none',
      complete: false,
    });
    expect(await instance(gate.invoker).refreshCluster(cluster, inSeconds(10))).toMatchObject({
      outcome: 'failed',
    });
    expect(gate.calls).toHaveLength(1);
  });

  it('treats an invocation error as a failed refresh', async () => {
    const cluster = newCluster();
    const failing: SyncInvoker = { syncCluster: () => Promise.reject(new Error('function crashed')) };
    expect(await instance(failing).refreshCluster(cluster, inSeconds(10))).toMatchObject({
      outcome: 'failed',
    });
    expect(await store.get(cluster)).toMatchObject({ state: 'failed' });
  });

  it('replaces a refresh left running by a crashed instance', async () => {
    const cluster = newCluster();
    await tables.documentClient.send(
      new PutCommand({
        TableName: tables.names.syncState,
        Item: {
          pk: syncStateKeys.clusterPartition(cluster),
          sk: 'REFRESH',
          cluster_id: cluster,
          state: 'running',
          owner: 'crashed',
          started_at: Date.now() - 60_000,
          finished_at: null,
        },
      }),
    );
    const gate = gatedInvoker();
    const pending = instance(gate.invoker).refreshCluster(cluster, inSeconds(10));
    await gate.called(1);
    gate.release();
    expect(await pending).toMatchObject({ outcome: 'refreshed' });
  });

  it('waits for the sync that already held the lease when the invoked one skipped', async () => {
    const cluster = newCluster();
    const invoker: SyncInvoker = {
      syncCluster: async (input) => {
        // The scheduled quick sync holds the lease; it ends a moment later and writes the state.
        setTimeout(() => {
          void repos.syncState.updateClusterState(cluster, { updated_at: Date.now(), consecutive_errors: 0 });
        }, 60);
        return summary(input, { skipped: 'quick sync already running' });
      },
    };
    const outcome = await instance(invoker).refreshCluster(cluster, inSeconds(10));
    expect(outcome).toMatchObject({ outcome: 'refreshed', complete: true });
    expect((await repos.syncState.getClusterState(cluster))?.updated_at).not.toBeNull();
  });

  it('refreshes every cluster of a request in parallel and is complete only when all are', async () => {
    const ok = newCluster();
    const down = newCluster();
    const invoker: SyncInvoker = {
      syncCluster: async (input) => summary(input, input.cluster_id === down ? { ok: false } : {}),
    };
    const service = instance(invoker);
    const outcomes = await service.refreshMany([ok, down, ok], inSeconds(10));
    expect(outcomes.map((o) => [o.cluster_id, o.outcome])).toEqual([
      [ok, 'refreshed'],
      [down, 'failed'],
    ]);
    const fresh = newCluster();
    expect(
      await service.refreshClusters({
        clusterIds: [fresh],
        reason: 'never-synced',
        deadlineMs: inSeconds(10),
      }),
    ).toEqual({ complete: true, clusters: [{ cluster_id: fresh, outcome: 'refreshed', reason: null }] });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWritePacing } from '#shared/store/dynamodb/write-pacing.ts';
import { attachThrottling } from '../../helpers/throttling-dynamodb.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/**
 * The sync inside a Lambda's limits: a run that reaches its deadline stops and keeps its work, the
 * next one continues; a run killed at the timeout is recorded as a failure; a throttling DynamoDB
 * slows the writes down but loses none of them.
 */

const GUESTS = 240;

describe('a full sync with a deadline', () => {
  let h: SyncHarness;
  let clusterId: string;

  beforeAll(async () => {
    // Contiguous VMIDs per node and slow per-guest calls: the run cannot finish in its time.
    h = await startSyncHarness(
      'sync-deadline',
      { clusters: 1, guestsPerCluster: GUESTS, nodeLayout: 'contiguous', latencyMs: { config: 800 } },
      { now: () => Date.now() },
    );
    clusterId = h.sim.clusters[0]?.id ?? '';
  });

  afterAll(async () => {
    await h?.close();
  });

  it('stops before its deadline, keeps what it did, and the next run reads only the rest', async () => {
    // Reading every config takes at least 240 × 0.8 s / 9 slots ≈ 21 s; the run has 20, of which the
    // listing and the first writes take a few even on a busy machine.
    const deadlineAt = Date.now() + 20_000;
    const running = h.service.syncClusterDetailed({ cluster_id: clusterId, mode: 'full' }, { deadlineAt });
    let lease = await h.repositories.syncState.getLease(clusterId, 'full');
    while (lease === null && Date.now() < deadlineAt - 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      lease = await h.repositories.syncState.getLease(clusterId, 'full');
    }
    expect(lease?.lease_expires_at).toBeLessThanOrEqual(deadlineAt);

    const first = await running;
    expect(Date.now()).toBeLessThan(deadlineAt);
    expect(first.summary.ok).toBe(false);
    const match = /^timed out after \d+ s, (\d+) of (\d+) guests done$/.exec(first.summary.error ?? '');
    expect(match?.[2]).toBe(String(GUESTS));
    const done = Number(match?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(GUESTS);
    expect(first.details).toEqual({ done, total: GUESTS });

    // Every guest is stored from the listing; exactly the guests done have their details.
    const stored = await h.repositories.inventory.listAllClusterVms(clusterId, { consistentRead: true });
    expect(stored).toHaveLength(GUESTS);
    expect(stored.filter((vm) => vm.config_checked_at !== null)).toHaveLength(done);
    // Work went to every node at once (contiguous VMIDs would otherwise leave two nodes idle).
    const nodesWithDetails = new Set(
      stored.filter((vm) => vm.config_checked_at !== null).map((vm) => vm.node),
    );
    expect(nodesWithDetails.size).toBe(3);

    const state = await h.repositories.syncState.getClusterState(clusterId);
    expect(state).toMatchObject({
      consecutive_errors: 1,
      last_error: first.summary.error,
      backoff_until: null,
    });
    expect(state?.last_full_sync_at).toBeNull();
    expect(h.metrics.at(-1)).toMatchObject({ clusterId, errors: 1 });
    expect(await h.repositories.syncState.getLease(clusterId, 'full')).toBeNull();

    const second = await h.service.syncClusterDetailed({ cluster_id: clusterId, mode: 'full' });
    expect(second.summary).toMatchObject({ ok: true, vms: GUESTS });
    expect(second.details).toEqual({ done: GUESTS, total: GUESTS });
    // No config is read twice in a row: the second run reads exactly the ones the first did not.
    expect(second.calls.config).toBe(GUESTS - done);
    const after = await h.repositories.inventory.listAllClusterVms(clusterId, { consistentRead: true });
    expect(after.every((vm) => vm.config_checked_at !== null)).toBe(true);
    expect(await h.repositories.syncState.getClusterState(clusterId)).toMatchObject({
      consecutive_errors: 0,
      last_error: null,
    });
  });

  it('records a run killed at the Lambda timeout as a failure, with how far it got', async () => {
    const before = await h.repositories.syncState.getClusterState(clusterId);
    const now = Date.now();
    await h.repositories.syncState.acquireLease({
      clusterId,
      kind: 'full',
      owner: 'killed-run',
      ttlMs: 240_000,
      nowMs: now - 240_000,
    });
    expect(
      await h.repositories.syncState.recordLeaseProgress(clusterId, 'full', 'killed-run', {
        done: 37,
        total: GUESTS,
        at: now - 1_000,
      }),
    ).toBe(true);
    const output = await h.service.recordRun({
      mode: 'full',
      results: [
        {
          cluster_id: clusterId,
          ok: false,
          error: JSON.stringify({
            Error: 'Sandbox.Timedout',
            Cause: '{"errorMessage":"RequestId: 1 Error: Task timed out after 240.00 seconds"}',
          }),
        },
      ],
    });
    expect(output).toMatchObject({ clusters: 1, ok: 0, failed: 1 });
    const state = await h.repositories.syncState.getClusterState(clusterId);
    expect(state).toMatchObject({
      consecutive_errors: (before?.consecutive_errors ?? 0) + 1,
      last_error: `timed out after 240 s, 37 of ${GUESTS} guests done`,
      // It kept its work: the next run goes on at once.
      backoff_until: null,
    });
    expect(h.metrics.at(-1)).toMatchObject({ clusterId, errors: (before?.consecutive_errors ?? 0) + 1 });
  });

  it('records a crashed task as a failure that backs off', async () => {
    const before = await h.repositories.syncState.getClusterState(clusterId);
    await h.service.recordRun({
      mode: 'full',
      results: [
        { cluster_id: clusterId, ok: false, error: '{"Error":"Runtime.ExitError","Cause":"out of memory"}' },
      ],
    });
    const state = await h.repositories.syncState.getClusterState(clusterId);
    expect(state?.consecutive_errors).toBe((before?.consecutive_errors ?? 0) + 1);
    expect(state?.last_error).toMatch(/^sync task failed: .*Runtime\.ExitError/);
    expect(state?.backoff_until).toBeGreaterThan(Date.now());
  });
});

describe('a full sync against a throttling DynamoDB', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await startSyncHarness('sync-throttled', { clusters: 1, guestsPerCluster: 150 });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('paces and retries its writes and stores every guest with its details', async () => {
    const pacer = attachWritePacing(h.tables.documentClient);
    const throttling = attachThrottling(h.tables.documentClient, { errorShare: 0.25, unprocessedShare: 0.5 });
    const clusterId = h.sim.clusters[0]?.id ?? '';
    const result = await h.service.syncClusterDetailed({ cluster_id: clusterId, mode: 'full' });
    expect(result.summary).toMatchObject({ ok: true, vms: 150 });
    expect(throttling.errors).toBeGreaterThan(10);
    expect(throttling.partialBatches).toBeGreaterThan(0);
    const stored = await h.repositories.inventory.listAllClusterVms(clusterId, { consistentRead: true });
    expect(stored).toHaveLength(150);
    expect(stored.every((vm) => vm.config_checked_at !== null)).toBe(true);
    expect(pacer.state(h.tables.names.inventory)?.throttles).toBeGreaterThan(0);
  });
});

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncStateKeys } from '#shared/store/table-design.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

let h: SyncHarness;
const CLUSTER = 'sim-1';

beforeAll(async () => {
  h = await startSyncHarness('sync-lifecycle', { guestsPerCluster: 30, clusters: 1 });
  const first = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' });
  expect(first.summary.ok).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

async function stored(vmid: number) {
  return h.repositories.inventory.getVm({ cluster_id: CLUSTER, vmid }, { consistentRead: true });
}

describe('removal and VMID reuse', () => {
  it('removes a destroyed guest only after a successful listing and suspends its assignments', async () => {
    const vmid = 105;
    await h.repositories.ownership.putAssignment({
      username: 'alice',
      cluster_id: CLUSTER,
      vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    h.sim.destroyGuest(CLUSTER, vmid);
    h.sim.faults.setClusterDown(CLUSTER, true);
    await h.sim.settled();
    await h.tick(15_000);
    const failed = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(failed.summary.ok).toBe(false);
    expect(await stored(vmid)).not.toBeNull();
    expect(await h.repositories.ownership.listAssignmentsOfUser('alice')).toHaveLength(1);

    h.sim.faults.reset();
    await h.sim.settled();
    await h.tick(5 * 60_000);
    const ok = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(ok.summary).toMatchObject({ ok: true, vms: 29 });
    expect(await stored(vmid)).toBeNull();
    expect(await h.repositories.ownership.listAssignmentsOfUser('alice')).toEqual([]);
    expect(await h.repositories.ownership.listOwnersOfVm({ cluster_id: CLUSTER, vmid })).toEqual([
      expect.objectContaining({ username: 'alice', suspended: true }),
    ]);

    // The VMID is reused by a new guest: it is stored, and the old owner still does not see it.
    const reused = h.sim.createGuest(CLUSTER, { name: 'brand-new' });
    expect(reused).toBe(vmid);
    await h.sim.settled();
    await h.tick(5 * 60_000);
    const full = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' });
    expect(full.summary.ok).toBe(true);
    expect(await stored(vmid)).toMatchObject({ name: 'brand-new' });
    expect(await h.repositories.ownership.listAssignmentsOfUser('alice')).toEqual([]);
  });

  it('treats a VMID that now names a guest of another type as a new guest', async () => {
    const all = await h.repositories.inventory.listAllClusterVms(CLUSTER, { consistentRead: true });
    const old = all.find((vm) => vm.type === 'qemu' && vm.vmid > 105);
    if (!old) throw new Error('no qemu guest');
    const vmid = old.vmid;
    await h.repositories.ownership.putAssignment({
      username: 'bob',
      cluster_id: CLUSTER,
      vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    // Destroyed and recreated between two syncs: the listing never misses the VMID.
    h.sim.destroyGuest(CLUSTER, vmid);
    expect(h.sim.createGuest(CLUSTER, { name: 'ct-new', type: 'lxc' })).toBe(vmid);
    await h.sim.settled();
    await h.tick(30_000);
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary.ok).toBe(true);
    // Stored as a new guest, with its details read in the same quick pass (only its own calls).
    expect(await stored(vmid)).toMatchObject({
      type: 'lxc',
      name: 'ct-new',
      config_checked_at: h.clock.now,
      details_pending: false,
    });
    expect(result.calls.config).toBe(1);
    expect(await h.repositories.ownership.listAssignmentsOfUser('bob')).toEqual([]);
  });
});

describe('write guard', () => {
  it('does not overwrite a start action recorded after the observation began', async () => {
    await h.tick(60_000);
    const truth = h.sim.groundTruth(CLUSTER).find((g) => g.status === 'stopped' && !g.template);
    if (!truth) throw new Error('no stopped guest');
    const key = { cluster_id: CLUSTER, vmid: truth.vmid };
    expect(await stored(truth.vmid)).toMatchObject({ status: 'stopped' });

    const observationStart = h.clock.now;
    const actionAt = observationStart + 1_000;
    // The action handler records the start (and the state it asked for) after the observation began.
    expect(await h.repositories.inventory.setPending({ key, action: 'start', since: actionAt })).toEqual({
      outcome: 'set',
    });
    await h.repositories.inventory.applyChanges([{ key, observedAt: actionAt, set: { status: 'running' } }]);

    // The observation started before the action still sees the guest stopped.
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary.ok).toBe(true);
    expect(await stored(truth.vmid)).toMatchObject({
      status: 'running',
      pending_action: 'start',
      pending_since: actionAt,
    });

    // A newer observation wins again: Proxmox now says stopped (say the start failed).
    await h.tick(10_000);
    const later = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(later.summary.ok).toBe(true);
    expect(await stored(truth.vmid)).toMatchObject({ status: 'stopped' });
  });

  it('clears a pending start once a later observation sees the guest running', async () => {
    await h.tick(60_000);
    const truth = h.sim.groundTruth(CLUSTER).find((g) => g.status === 'stopped' && !g.template);
    if (!truth) throw new Error('no stopped guest');
    const key = { cluster_id: CLUSTER, vmid: truth.vmid };
    const actionAt = h.clock.now;
    await h.repositories.inventory.setPending({ key, action: 'start', since: actionAt });
    h.sim.setGuestStatus(CLUSTER, truth.vmid, 'running');

    await h.tick(5_000);
    expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' })).summary.ok).toBe(
      true,
    );
    const after = await stored(truth.vmid);
    expect(after).toMatchObject({ status: 'running' });
    expect(after?.pending_action).toBeUndefined();
  });
});

describe('leases', () => {
  it('lets exactly one of two overlapping runs of a cluster sync; the other skips', async () => {
    await h.tick(60_000);
    for (const mode of ['quick', 'full'] as const) {
      h.sim.resetCounters();
      const [a, b] = await Promise.all([
        h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode }),
        h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode }),
      ]);
      const skipped = [a, b].filter((r) => r.summary.skipped !== undefined);
      expect(skipped).toHaveLength(1);
      expect(skipped[0]?.summary).toMatchObject({ ok: true, proxmox_calls: 0 });
      expect(skipped[0]?.summary.skipped).toMatch(/already running/);
      expect([a, b].filter((r) => r.summary.ok && r.summary.skipped === undefined)).toHaveLength(1);
      expect(h.sim.counters(CLUSTER).resources).toBe(1);
      await h.tick(30_000);
    }
  });

  it('holds the quick lease on the cluster state: the closing state write frees it, an expired one is taken over', async () => {
    await h.tick(60_000);
    const raw = (key: { pk: string; sk: string }) =>
      h.tables.documentClient
        .send(new GetCommand({ TableName: h.tables.names.syncState, Key: key }))
        .then((r) => r.Item);
    // A pass that died holding the lease keeps the next one out until the lease expires.
    const dead = await h.repositories.syncState.acquireLease({
      clusterId: CLUSTER,
      kind: 'quick',
      owner: 'dead-run',
      ttlMs: 10_000,
      nowMs: h.clock.now,
    });
    expect(dead.acquired).toBe(true);
    const blocked = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(blocked.summary.skipped).toMatch(/quick sync already running/);
    await h.tick(10_001);
    const taken = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(taken.summary).toMatchObject({ ok: true });
    expect(taken.summary.skipped).toBeUndefined();
    // Released by the state write that ended the pass; no lease item was ever written.
    expect(await h.repositories.syncState.getLease(CLUSTER, 'quick')).toBeNull();
    expect(await raw(syncStateKeys.clusterState(CLUSTER))).not.toHaveProperty('quick_lease');
    expect(await raw(syncStateKeys.lease(CLUSTER, 'quick'))).toBeUndefined();
    expect((await h.repositories.syncState.getClusterState(CLUSTER))?.last_quick_sync_at).toBe(h.clock.now);
  });

  it('skips a quick pass while the cluster’s full sync holds its lease', async () => {
    const lease = await h.repositories.syncState.acquireLease({
      clusterId: CLUSTER,
      kind: 'full',
      owner: 'other-run',
      ttlMs: 60_000,
      nowMs: h.clock.now,
    });
    expect(lease.acquired).toBe(true);
    h.sim.resetCounters();
    const quick = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(quick.summary).toMatchObject({ ok: true, skipped: 'full sync in progress', proxmox_calls: 0 });
    expect(h.sim.counters(CLUSTER).total).toBe(0);
    await h.repositories.syncState.releaseLease(CLUSTER, 'full', 'other-run');
  });
});

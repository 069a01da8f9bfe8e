import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toApiVms } from '#shared/api/list-vms.ts';
import { statsFromAggregates } from '#shared/api/sync-stats.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/**
 * What the inventory tells must be what Proxmox says, with how old it is: `last_updated` moves with
 * every full sync that sees a guest, new guests carry `details_pending` until their details are read
 * (within the next quick pass), a recycled VMID is a new guest, an unmanaged container is `other`.
 */

let h: SyncHarness;
const CLUSTER = 'sim-1';
const MIN = 60_000;
const STALE_AFTER = 10 * MIN;

beforeAll(async () => {
  h = await startSyncHarness('truthful', { clusters: 1, guestsPerCluster: 30, drift: false });
  expect((await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' })).summary.ok).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

async function apiVms(): Promise<ApiVm[]> {
  const items = await h.repositories.inventory.listAllClusterVms(CLUSTER, { consistentRead: true });
  const states = await h.repositories.syncState.listClusterStates();
  return toApiVms(h.repositories.syncState, items, states, { nowMs: h.clock.now, staleAfterMs: STALE_AFTER });
}

async function sync(mode: 'full' | 'quick') {
  const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode });
  expect(result.summary.ok).toBe(true);
  return result;
}

describe('last_updated', () => {
  it('is the last full sync that saw the guest, so the seed query and --stale agree', async () => {
    await sync('full');
    const offlineNode = h.sim.clusters[0]?.nodes[1];
    if (!offlineNode) throw new Error('no second node');
    // 40 minutes of steady syncs (full every 5 minutes, quick in between); a node goes down at 20.
    let lastFull = h.clock.now;
    for (let minute = 5; minute <= 40; minute += 5) {
      if (minute === 20) {
        h.sim.faults.setNodeOffline(CLUSTER, offlineNode, true);
        await h.sim.settled();
      }
      await h.tick(4.5 * MIN);
      await sync('quick');
      await h.tick(0.5 * MIN);
      await sync('full');
      lastFull = h.clock.now;
    }
    await h.tick(MIN);
    await sync('quick');

    const vms = await apiVms();
    expect(vms.length).toBe(30);
    const onlineVms = vms.filter((vm) => vm.node !== offlineNode);
    expect(onlineVms.length).toBeGreaterThan(0);
    // Confirmed by the last full sync although most items were not written for half an hour.
    for (const vm of onlineVms) expect(vm.last_updated).toBe(new Date(lastFull).toISOString());

    const cutoff = h.clock.now - STALE_AFTER;
    const seedQuery = vms.filter((vm) => vm.last_updated === null || Date.parse(vm.last_updated) < cutoff);
    const staleFlag = vms.filter((vm) => vm.stale);
    const onOfflineNode = vms.filter((vm) => vm.node === offlineNode);
    expect(onOfflineNode.length).toBeGreaterThan(0);
    const ids = (list: ApiVm[]) => list.map((vm) => vm.vmid).sort((a, b) => a - b);
    expect(ids(seedQuery)).toEqual(ids(onOfflineNode));
    expect(ids(staleFlag)).toEqual(ids(onOfflineNode));
    h.sim.faults.reset();
    await h.sim.settled();
    await sync('full');
  });
});

describe('fresh_vms', () => {
  it("counts per VM with the list's stale rule on a fleet with an offline node", async () => {
    const offlineNode = h.sim.clusters[0]?.nodes[2];
    if (!offlineNode) throw new Error('no third node');
    h.sim.faults.setNodeOffline(CLUSTER, offlineNode, true);
    await h.sim.settled();
    await h.tick(30_000);
    await sync('quick');
    const vms = await apiVms();
    const stats = statsFromAggregates(await h.repositories.syncState.listClusterStates(), h.clock.now, {
      staleAfterMs: STALE_AFTER,
      quickSyncIntervalMs: 30_000,
      healthMaxSyncAgeMs: STALE_AFTER,
      healthMaxConsecutiveErrors: 5,
    });
    const freshInList = vms.filter((vm) => !vm.stale).length;
    expect(vms.some((vm) => vm.stale)).toBe(true);
    expect(freshInList).toBeGreaterThan(0);
    expect(stats.total_vms).toBe(vms.length);
    expect(stats.fresh_vms).toBe(freshInList);
    h.sim.faults.reset();
    await h.sim.settled();
    await h.tick(30_000);
    await sync('quick');
  });
});

describe('a new guest', () => {
  it('carries details_pending until its details are read, then gets them in the next quick pass', async () => {
    const first = h.sim.createGuest(CLUSTER, { name: 'fresh-win', type: 'qemu', status: 'running' });
    const second = h.sim.createGuest(CLUSTER, { name: 'fresh-ct', type: 'lxc', status: 'running' });
    await h.sim.settled();
    // The config reads of this pass fail: the guests are stored from the listing, marked pending.
    h.sim.faults.setErrorRate(CLUSTER, 'config', 1, 500);
    await h.tick(30_000);
    await sync('quick');
    let byId = new Map((await apiVms()).map((vm) => [vm.vmid, vm]));
    expect(byId.get(first)).toMatchObject({ details_pending: true, category: 'other' });
    expect(byId.get(second)).toMatchObject({ details_pending: true, last_updated: null });

    h.sim.faults.reset();
    await h.tick(30_000);
    h.sim.resetCounters();
    const result = await sync('quick');
    // One listing plus calls for the two new guests only (config, then their live IP).
    expect(result.calls.resources).toBe(1);
    expect(result.calls.config).toBe(2);
    expect(result.calls.total).toBeLessThanOrEqual(1 + 2 * 2);
    byId = new Map((await apiVms()).map((vm) => [vm.vmid, vm]));
    for (const vmid of [first, second]) {
      const truth = h.sim.guest(CLUSTER, vmid);
      expect(byId.get(vmid)).toMatchObject({
        details_pending: false,
        category: truth?.category,
        ip: truth?.expectedIp,
        cores: truth?.cores,
      });
    }
    // Every other guest stays complete.
    expect([...byId.values()].filter((vm) => vm.details_pending).map((vm) => vm.vmid)).toEqual([]);
  });

  it('an unmanaged container is category other, as the client maps it', async () => {
    const vmid = h.sim.createGuest(CLUSTER, {
      name: 'appliance',
      type: 'lxc',
      ostype: 'unmanaged',
      status: 'stopped',
    });
    await h.sim.settled();
    await h.tick(30_000);
    await sync('quick');
    expect(h.sim.guest(CLUSTER, vmid)?.category).toBe('other');
    const vm = (await apiVms()).find((candidate) => candidate.vmid === vmid);
    expect(vm).toMatchObject({ category: 'other', details_pending: false });
  });
});

describe('a started VM', () => {
  it('gets its address and RDP/SSH flags in the next quick pass; a stopped one loses its reachability', async () => {
    await sync('full');
    const stored = await h.repositories.inventory.listAllClusterVms(CLUSTER, { consistentRead: true });
    // A stopped guest whose running self shows a live address the table does not have yet.
    let target: { vmid: number; ip: string; rdp: boolean; ssh: boolean } | undefined;
    for (const vm of stored.filter((candidate) => candidate.status === 'stopped' && !candidate.is_template)) {
      h.sim.setGuestStatus(CLUSTER, vm.vmid, 'running');
      const truth = h.sim.guest(CLUSTER, vm.vmid);
      if (truth?.expectedIp && truth.expectedIp !== vm.ip) {
        target = { vmid: vm.vmid, ip: truth.expectedIp, rdp: truth.rdpReachable, ssh: truth.sshReachable };
        break;
      }
      h.sim.setGuestStatus(CLUSTER, vm.vmid, 'stopped');
    }
    if (!target) throw new Error('no stopped guest with a live address when running');
    await h.sim.settled();
    await h.tick(30_000);
    const result = await sync('quick');
    // Calls for that one guest only: no config (no reason to), its live IP.
    expect(result.calls.resources).toBe(1);
    expect(result.calls.config).toBe(0);
    let vm = (await apiVms()).find((candidate) => candidate.vmid === target.vmid);
    expect(vm).toMatchObject({
      status: 'running',
      ip: target.ip,
      rdp_available: target.rdp,
      ssh_available: target.ssh,
    });
    expect(vm?.uptime).toBeLessThanOrEqual(60);

    h.sim.setGuestStatus(CLUSTER, target.vmid, 'stopped');
    await h.sim.settled();
    await h.tick(30_000);
    await sync('quick');
    vm = (await apiVms()).find((candidate) => candidate.vmid === target.vmid);
    expect(vm).toMatchObject({ status: 'stopped', rdp_available: false, ssh_available: false, uptime: 0 });
  });
});

describe('a manual sync', () => {
  it('runs while the cluster backs off and resets the backoff on success', async () => {
    h.sim.faults.setClusterDown(CLUSTER, true);
    await h.sim.settled();
    await h.tick(30_000);
    const failed = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(failed.summary.ok).toBe(false);
    h.sim.faults.reset();
    await h.sim.settled();
    await h.tick(1_000);
    const scheduled = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(scheduled.summary.skipped).toMatch(/^backing off/);
    const manual = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full', manual: true });
    expect(manual.summary).toMatchObject({ ok: true, mode: 'full' });
    expect(manual.summary.skipped).toBeUndefined();
    expect(await h.repositories.syncState.getClusterState(CLUSTER)).toMatchObject({
      consecutive_errors: 0,
      backoff_until: null,
    });
  });

  it('lists every cluster of a manual run as manual, so each iteration runs through its backoff', async () => {
    const listed = await h.service.listClusters({ mode: 'full', manual: true });
    expect(listed.clusters).toEqual([{ cluster_id: CLUSTER, mode: 'full', manual: true }]);
    // A scheduled run says so too: the quick machine's first pass reads `$.manual` and needs it present.
    const scheduled = await h.service.listClusters({ mode: 'quick' });
    expect(scheduled.clusters).toEqual([{ cluster_id: CLUSTER, mode: 'quick', manual: false }]);
  });
});

describe('a recycled VMID', () => {
  it('is detected from the guest identity even when the listing never missed it', async () => {
    const all = await h.repositories.inventory.listAllClusterVms(CLUSTER, { consistentRead: true });
    const old = all.find((vm) => vm.type === 'qemu' && vm.status === 'stopped' && vm.vmgenid !== null);
    if (!old) throw new Error('no stopped qemu guest with an identity');
    await h.repositories.ownership.putAssignment({
      username: 'carol',
      cluster_id: CLUSTER,
      vmid: old.vmid,
      source: 'admin',
      created_at: h.clock.now,
    });
    h.sim.destroyGuest(CLUSTER, old.vmid);
    await h.tick(60_000);
    // Same VMID, same type and name: only its identity (creation time, vmgenid) tells.
    expect(h.sim.createGuest(CLUSTER, { name: old.name, type: 'qemu', status: 'stopped' })).toBe(old.vmid);
    await h.sim.settled();
    await h.tick(30_000);
    await sync('full');
    const now = await h.repositories.inventory.getVm(
      { cluster_id: CLUSTER, vmid: old.vmid },
      { consistentRead: true },
    );
    expect(now?.guest_ctime).not.toBe(old.guest_ctime);
    expect(now?.vmgenid).not.toBe(old.vmgenid);
    expect(await h.repositories.ownership.listAssignmentsOfUser('carol')).toEqual([]);
    expect(
      await h.repositories.ownership.listAssignmentsOfUser('carol', { includeSuspended: true }),
    ).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmFreshness } from '#shared/domain/staleness.ts';
import type { StoredVm } from '#shared/domain/vm-record.ts';
import type { GroundTruthGuest } from '#simulator/index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/*
 * The sync against a simulator speaking Proxmox VE 9: what today's clusters send that 8.x did not
 * (issue 19), each point through the real client, engine and DynamoDB Local.
 */

const CLUSTER = 'sim-1';

async function stored(h: SyncHarness, vmid: number): Promise<StoredVm> {
  const vm = (await h.repositories.inventory.listAllClusterVms(CLUSTER)).find((v) => v.vmid === vmid);
  if (vm === undefined) throw new Error(`VM ${vmid} not stored`);
  return vm;
}

function slot(h: SyncHarness, index: number): GroundTruthGuest {
  const g = h.sim.groundTruth(CLUSTER)[index];
  if (g === undefined) throw new Error(`no guest in slot ${index}`);
  return g;
}

describe('sync against PVE 9', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await startSyncHarness('pve9-sync', { clusters: 1, guestsPerCluster: 30, pveVersion: 9 });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('reads containers with raw lxc.* keys, OCI-image ones included, without a sync error', async () => {
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' });
    expect(result.summary).toMatchObject({ ok: true, vms: 30 });
    for (const index of [3, 5]) {
      const truth = slot(h, index);
      expect(truth.type).toBe('lxc');
      const vm = await stored(h, truth.vmid);
      expect({
        category: vm.category,
        mac: vm.mac,
        sync_error: vm.sync_error,
        checked: vm.config_checked_at !== null,
      }).toEqual({ category: 'linux', mac: truth.mac ?? null, sync_error: null, checked: true });
    }
  });

  it('stores at most 100 % memory use for a VM whose host-side memory exceeds its allotment', async () => {
    const first = slot(h, 0);
    expect(first.status).toBe('running');
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary.ok).toBe(true);
    const runtime = await h.repositories.syncState.readRuntime(CLUSTER);
    const sample = runtime.get(first.node)?.stats.get(first.vmid);
    expect(sample?.memory_usage).toBe(100);
    for (const node of runtime.values())
      for (const s of node.stats.values()) expect(s.memory_usage).toBeLessThanOrEqual(100);
  });

  it('keeps the guests of upgraded nodes, stale, when an 8.4 endpoint cannot read their stats', async () => {
    await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' });
    const before = new Map(
      (await h.repositories.inventory.listAllClusterVms(CLUSTER)).map((v) => [v.vmid, v]),
    );
    const [contacted] = h.sim.clusters[0]?.nodes ?? [];
    if (contacted === undefined) throw new Error('no node');
    h.sim.setNodeVersion(CLUSTER, contacted, 8);
    try {
      await h.tick(30_000);
      const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
      expect(result.summary).toMatchObject({ ok: true, vms: 30 });
      const state = await h.repositories.syncState.getClusterState(CLUSTER);
      const after = await h.repositories.inventory.listAllClusterVms(CLUSTER);
      expect(after).toHaveLength(before.size);
      const elsewhere = after.filter((vm) => vm.node !== contacted);
      expect(elsewhere.length).toBeGreaterThan(0);
      for (const vm of after) {
        const was = before.get(vm.vmid);
        const fresh = vmFreshness(vm, state, h.clock.now);
        if (vm.node === contacted) {
          expect(fresh.stale).toBe(false);
          continue;
        }
        // Last known data kept, shown stale until an endpoint that reads its node's stats answers.
        expect({ name: vm.name, status: vm.status, ip: vm.ip, stale: fresh.stale }).toEqual({
          name: was?.name,
          status: was?.status,
          ip: was?.ip,
          stale: true,
        });
      }
    } finally {
      h.sim.setNodeVersion(CLUSTER, contacted, 9);
    }
    await h.tick(30_000);
    await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    const state = await h.repositories.syncState.getClusterState(CLUSTER);
    for (const vm of await h.repositories.inventory.listAllClusterVms(CLUSTER))
      expect(vmFreshness(vm, state, h.clock.now).stale).toBe(false);
  });

  it('names the fix when a pinned node certificate was renewed', async () => {
    await h.sim.renewCertificate(CLUSTER);
    h.connector.invalidate(CLUSTER);
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary.ok).toBe(false);
    expect(result.summary.error).toMatch(/certificate changed, most likely renewed/);
    expect(result.summary.error).toContain('pve-root-ca.pem');
  });
});

describe('sync against PVE 9 with a role written for PVE 8', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await startSyncHarness(
      'pve9-agent',
      { clusters: 1, guestsPerCluster: 30, pveVersion: 9 },
      {},
      {
        // The README's PVE 8 role after the upgrade: VM.Monitor no longer exists and grants nothing.
        token: {
          tokenId: 'inventory@pve!sync',
          secret: 'pve8-role-secret',
          privileges: ['VM.Audit', 'VM.Monitor', 'VM.PowerMgmt'],
          sysAudit: true,
        },
        trustCa: true,
      },
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  it('falls back to static IPs and names the missing privilege and the command that adds it', async () => {
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'full' });
    expect(result.summary).toMatchObject({ ok: true, vms: 30 });
    const withAgent = h.sim
      .groundTruth(CLUSTER)
      .filter((g) => g.type === 'qemu' && g.agent === 'running' && g.status === 'running');
    expect(withAgent.length).toBeGreaterThan(0);
    for (const g of withAgent) {
      const vm = await stored(h, g.vmid);
      expect(vm.agent_state).toBe('error');
      expect(vm.sync_error).toContain('VM.GuestAgent.Audit');
      expect(vm.sync_error).toContain('pveum role modify <role> --privs VM.GuestAgent.Audit --append 1');
      expect(vm.sync_error).not.toContain('pve8-role-secret');
    }
  });

  it('keeps syncing through a certificate renewal when it trusts the cluster CA', async () => {
    await h.sim.renewCertificate(CLUSTER);
    const result = await h.service.syncClusterDetailed({ cluster_id: CLUSTER, mode: 'quick' });
    expect(result.summary).toMatchObject({ ok: true, vms: 30 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PVE_MAJORS } from '#simulator/index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

describe.each(PVE_MAJORS)('PVE %i', (pveVersion) => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await startSyncHarness(`quick-sync-${pveVersion}`, { pveVersion });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe(`quick sync against the simulator speaking PVE ${pveVersion}`, () => {
    it('turns the first quick pass of a never fully synced cluster into its first full sync', async () => {
      for (const cluster of h.sim.clusters) {
        const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
        expect(result.summary).toMatchObject({ ok: true, mode: 'full', vms: 40, changed: 40 });
        expect(result.calls.config).toBe(40);
        const stored = await h.repositories.inventory.listAllClusterVms(cluster.id);
        expect(stored.filter((vm) => vm.details_pending)).toEqual([]);
        const state = await h.repositories.syncState.getClusterState(cluster.id);
        expect(state?.last_full_sync_at).toBe(h.clock.now);
      }
    });

    it('then makes exactly one Proxmox call per cluster and stores every guest', async () => {
      h.sim.resetCounters();
      for (const cluster of h.sim.clusters) {
        const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
        expect(result.summary).toMatchObject({ ok: true, mode: 'quick', vms: 40, proxmox_calls: 1 });
        expect(h.sim.counters(cluster.id)).toMatchObject({ resources: 1, total: 1 });
        const stored = await h.repositories.inventory.listAllClusterVms(cluster.id);
        expect(stored.map((vm) => vm.vmid).sort()).toEqual(
          h.sim
            .groundTruth(cluster.id)
            .map((g) => g.vmid)
            .sort(),
        );
      }
    });

    it('writes no VM item, no runtime chunk and no history bucket when nothing changed within the minute', async () => {
      // Drift is off: the simulator's stats (uptime included) stay frozen, so the clocks move only a little,
      // and stay within the minute of the previous pass (whose history bucket is written already).
      await h.tick(Math.min(10_000, 59_999 - (h.clock.now % 60_000)));
      h.sim.resetCounters();
      const cluster = h.sim.clusters[0];
      if (!cluster) throw new Error('no cluster');
      const before = await h.repositories.inventory.listAllClusterVms(cluster.id);
      const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
      expect(result.summary).toMatchObject({ ok: true, changed: 0, proxmox_calls: 1 });
      expect(result.writes).toEqual({ inventory: 0, runtime: 0, state: 1, ownership: 0, history: 0 });
      expect(h.sim.counters(cluster.id).total).toBe(1);
      const after = await h.repositories.inventory.listAllClusterVms(cluster.id);
      expect(after).toEqual(before);
    });
  });
});

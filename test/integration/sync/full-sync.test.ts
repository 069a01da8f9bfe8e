import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PVE_MAJORS } from '#simulator/index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

// Both versions: the comparison with the ground truth is where the versions' shapes differ.
describe.each(PVE_MAJORS)('PVE %i', (pveVersion) => {
  let h: SyncHarness;
  let snapshot = new Map<number, string>();

  async function changedFields(clusterId: string): Promise<string[]> {
    const out: string[] = [];
    for (const vm of await h.repositories.inventory.listAllClusterVms(clusterId)) {
      const before = snapshot.get(vm.vmid);
      if (before !== JSON.stringify(vm)) out.push(`${before} => ${JSON.stringify(vm)}`);
    }
    return out.slice(0, 3);
  }

  beforeAll(async () => {
    h = await startSyncHarness(`full-sync-${pveVersion}`, { guestsPerCluster: 60, drift: true, pveVersion });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe(`full sync against the simulator speaking PVE ${pveVersion}`, () => {
    it('fills IPs, categories, cores, memory, disk size and RDP/SSH flags as the ground truth says', async () => {
      for (const cluster of h.sim.clusters) {
        const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' });
        expect(result.summary).toMatchObject({ ok: true, vms: 60 });
        const stored = new Map(
          (await h.repositories.inventory.listAllClusterVms(cluster.id)).map((vm) => [vm.vmid, vm]),
        );
        const truth = h.sim.groundTruth(cluster.id);
        expect(stored.size).toBe(truth.length);
        const mismatches: string[] = [];
        for (const guest of truth) {
          const vm = stored.get(guest.vmid);
          if (!vm) {
            mismatches.push(`${guest.vmid}: missing`);
            continue;
          }
          const expected = {
            name: guest.name,
            node: guest.node,
            type: guest.type,
            status: guest.status,
            category: guest.category,
            cores: guest.cores,
            memory: guest.memoryMiB,
            disk_size: guest.diskBytes,
            is_template: guest.template,
            tag_list: guest.tags,
            ip: guest.expectedIp,
            mac: guest.mac ?? null,
            // Only a guest whose IP the sync can know is probed (the simulator may listen for others).
            rdp_available: guest.rdpReachable && guest.expectedIp !== null,
            ssh_available: guest.sshReachable && guest.expectedIp !== null,
          };
          for (const [field, value] of Object.entries(expected)) {
            const actual: unknown = Reflect.get(vm, field);
            if (JSON.stringify(actual) !== JSON.stringify(value))
              mismatches.push(
                `${guest.vmid}.${field}: ${JSON.stringify(actual)} != ${JSON.stringify(value)}`,
              );
          }
        }
        expect(mismatches).toEqual([]);
        // Reachability exists in the fleet: the comparison is not vacuous.
        expect(truth.some((g) => g.rdpReachable && g.expectedIp !== null)).toBe(true);
        expect(truth.some((g) => g.sshReachable && g.expectedIp !== null)).toBe(true);
        expect(truth.some((g) => g.expectedIp !== null)).toBe(true);
      }
    });

    it('keeps the per-cluster aggregates in the sync state', async () => {
      const cluster = h.sim.clusters[0];
      if (!cluster) throw new Error('no cluster');
      const state = await h.repositories.syncState.getClusterState(cluster.id);
      const truth = h.sim.groundTruth(cluster.id);
      expect(state).toMatchObject({
        consecutive_errors: 0,
        last_error: null,
        last_full_sync_at: h.clock.now,
        last_success_at: h.clock.now,
        counts: {
          total: truth.length,
          running: truth.filter((g) => g.status === 'running').length,
          templates: truth.filter((g) => g.template).length,
        },
      });
    });

    it('reads only a rotating slice of configs in the next full sync of an unchanged fleet', async () => {
      const cluster = h.sim.clusters[0];
      if (!cluster) throw new Error('no cluster');
      snapshot = new Map(
        (await h.repositories.inventory.listAllClusterVms(cluster.id)).map((vm) => [
          vm.vmid,
          JSON.stringify(vm),
        ]),
      );
      await h.tick(5 * 60_000);
      h.sim.resetCounters();
      // The previous (cold) sync read every config: none is read again right away.
      const next = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' });
      expect(next.summary.ok).toBe(true);
      expect(h.sim.counters(cluster.id).config).toBe(0);
      await h.tick(5 * 60_000);
      h.sim.resetCounters();
      const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' });
      expect(result.summary.ok).toBe(true);
      const counters = h.sim.counters(cluster.id);
      expect(counters.resources).toBe(1);
      // 30 min / 5 min = 6 slices: about a sixth of the fleet, never all of it.
      expect(counters.config).toBeGreaterThan(0);
      expect(counters.config).toBeLessThanOrEqual(Math.ceil(60 / 6) + 5);
      expect(result.writes.inventory, JSON.stringify(await changedFields(cluster.id))).toBe(0);
    });
  });
});

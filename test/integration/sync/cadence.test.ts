import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cadenceFromEnv } from '#shared/config/cadence.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import { CONFIG_MAX_AGE_MS } from '#shared/sync/plan-full.ts';
import { createSyncService } from '#shared/sync/service.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness('cadence', { clusters: 1, guestsPerCluster: 36, drift: false });
});

afterAll(async () => {
  await h?.close();
});

/** A gateway that records, per VMID, the config reads and live IP lookups made through it. */
function recording(gateway: ProxmoxGateway, configs: Set<number>, ips: Set<number>): ProxmoxGateway {
  return Object.assign(Object.create(gateway) as ProxmoxGateway, {
    guestConfig: (node: string, type: 'qemu' | 'lxc', vmid: number) => {
      configs.add(vmid);
      return gateway.guestConfig(node, type, vmid);
    },
    agentInterfaces: (node: string, vmid: number) => {
      ips.add(vmid);
      return gateway.agentInterfaces(node, vmid);
    },
    lxcInterfaces: (node: string, vmid: number) => {
      ips.add(vmid);
      return gateway.lxcInterfaces(node, vmid);
    },
  });
}

describe('the full-sync period reaches the config rotation', () => {
  it.each([2, 5, 10])(
    'with FULL_SYNC_MINUTES=%i every guest config and live IP is re-read within the rotation window',
    async (minutes) => {
      const cadence = cadenceFromEnv({ FULL_SYNC_MINUTES: String(minutes) });
      const configs = new Set<number>();
      const ips = new Set<number>();
      const service = createSyncService({
        clusters: h.clusters,
        repositories: h.repositories,
        connect: async (cluster) => recording(await h.connector.connect(cluster), configs, ips),
        now: () => h.clock.now,
        probeTimeoutMs: 500,
        fullSyncIntervalMs: cadence.fullIntervalMs,
      });
      const cluster = h.sim.clusters[0];
      if (!cluster) throw new Error('no cluster');
      // Every guest known and read once: from here on only the rotation reads configs.
      await service.syncCluster({ cluster_id: cluster.id, mode: 'full' });
      configs.clear();
      ips.clear();
      for (let elapsed = 0; elapsed < CONFIG_MAX_AGE_MS; elapsed += cadence.fullIntervalMs) {
        await h.tick(cadence.fullIntervalMs);
        expect((await service.syncCluster({ cluster_id: cluster.id, mode: 'full' })).ok).toBe(true);
      }
      const truth = h.sim.groundTruth(cluster.id);
      expect(truth.filter((g) => !configs.has(g.vmid)).map((g) => g.vmid)).toEqual([]);
      const live = truth.filter(
        (g) =>
          g.status === 'running' &&
          (g.type === 'lxc' ||
            g.agent === 'running' ||
            g.agent === 'running-no-ips' ||
            g.agent === 'not-running'),
      );
      expect(live.length).toBeGreaterThan(0);
      expect(live.filter((g) => !ips.has(g.vmid)).map((g) => g.vmid)).toEqual([]);
    },
  );
});

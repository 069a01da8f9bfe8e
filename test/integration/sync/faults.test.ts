import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmFreshness } from '#shared/domain/staleness.ts';
import type { Simulator } from '#simulator/index.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

let h: SyncHarness;
const FAILING = 'sim-1';
const HEALTHY = 'sim-2';

beforeAll(async () => {
  h = await startSyncHarness('sync-faults', { guestsPerCluster: 30 });
});

afterAll(async () => {
  await h?.close();
});

/** Clears every fault, leaves any backoff behind and syncs both clusters once. */
async function baseline(): Promise<void> {
  h.sim.faults.reset();
  await h.sim.settled();
  await h.tick(10 * 60_000);
  for (const id of [FAILING, HEALTHY]) {
    const result = await h.service.syncClusterDetailed({ cluster_id: id, mode: 'full' });
    expect(result.summary.ok, result.summary.error).toBe(true);
  }
  await h.tick(15_000);
}

const clusterFaults: { fault: string; apply: (sim: Simulator) => void; error: RegExp }[] = [
  { fault: 'cluster down', apply: (sim) => sim.faults.setClusterDown(FAILING, true), error: /Connection/i },
  {
    fault: 'latency beyond the timeout',
    apply: (sim) => sim.faults.setLatency(FAILING, 'resources', 4_000),
    error: /Timeout/i,
  },
  {
    fault: 'HTTP 500s',
    apply: (sim) => sim.faults.setErrorRate(FAILING, 'resources', 1, 500),
    error: /ProxmoxApiError.*500/,
  },
  {
    fault: 'malformed JSON',
    apply: (sim) => sim.faults.setMalformed(FAILING, 'resources', true),
    error: /InvalidResponse/i,
  },
  { fault: 'revoked token', apply: (sim) => sim.faults.setTokenRevoked(FAILING, true), error: /Auth.*401/i },
];

describe('a failing cluster', () => {
  it.each(clusterFaults)(
    '$fault: others synced, rows kept and stale, error recorded, backs off',
    async ({ apply, error }) => {
      await baseline();
      const before = await h.repositories.inventory.listAllClusterVms(FAILING);
      expect(before).toHaveLength(30);
      apply(h.sim);
      await h.sim.settled();

      for (const mode of ['quick', 'full'] as const) {
        const [failed, healthy] = await Promise.all([
          h.service.syncClusterDetailed({ cluster_id: FAILING, mode }),
          h.service.syncClusterDetailed({ cluster_id: HEALTHY, mode }),
        ]);
        expect(healthy.summary).toMatchObject({ ok: true, vms: 30 });
        if (mode === 'quick') {
          expect(failed.summary).toMatchObject({ ok: false, cluster_id: FAILING });
          expect(failed.summary.error).toMatch(error);
        } else {
          // Right after the failure the cluster is backing off: no Proxmox call at all.
          expect(failed.summary).toMatchObject({ ok: false, proxmox_calls: 0 });
          expect(failed.summary.skipped).toMatch(/backing off/);
        }
      }

      const after = await h.repositories.inventory.listAllClusterVms(FAILING);
      expect(after).toEqual(before);
      const state = await h.repositories.syncState.getClusterState(FAILING);
      expect(state).toMatchObject({ consecutive_errors: 1 });
      expect(state?.last_error).toMatch(error);
      expect(state?.backoff_until).toBeGreaterThan(h.clock.now);
      for (const vm of after) expect(vmFreshness(vm, state, h.clock.now).stale).toBe(true);
      const healthyState = await h.repositories.syncState.getClusterState(HEALTHY);
      expect(healthyState).toMatchObject({ consecutive_errors: 0, last_success_at: h.clock.now });

      // Past the backoff it tries again, fails again, and waits twice as long.
      await h.tick(25_000);
      const again = await h.service.syncClusterDetailed({ cluster_id: FAILING, mode: 'quick' });
      expect(again.summary.ok).toBe(false);
      const next = await h.repositories.syncState.getClusterState(FAILING);
      expect(next?.consecutive_errors).toBe(2);
      expect((next?.backoff_until ?? 0) - h.clock.now).toBe(40_000);

      // Once Proxmox answers again (and the backoff has passed) the cluster recovers.
      h.sim.faults.reset();
      await h.sim.settled();
      await h.tick(60_000);
      const recovered = await h.service.syncClusterDetailed({ cluster_id: FAILING, mode: 'quick' });
      expect(recovered.summary.ok, recovered.summary.error).toBe(true);
      const fresh = await h.repositories.syncState.getClusterState(FAILING);
      expect(fresh).toMatchObject({ consecutive_errors: 0, backoff_until: null, last_error: null });
    },
  );

  it('node offline: the listing still succeeds, that node’s guests keep their rows and turn stale', async () => {
    await baseline();
    const node = h.sim.clusters[0]?.nodes[1];
    if (!node) throw new Error('no node');
    const before = await h.repositories.inventory.listAllClusterVms(FAILING);
    h.sim.faults.setNodeOffline(FAILING, node, true);
    await h.sim.settled();

    const [failed, healthy] = await Promise.all([
      h.service.syncClusterDetailed({ cluster_id: FAILING, mode: 'full' }),
      h.service.syncClusterDetailed({ cluster_id: HEALTHY, mode: 'full' }),
    ]);
    expect(healthy.summary.ok).toBe(true);
    expect(failed.summary.ok).toBe(true);

    const after = await h.repositories.inventory.listAllClusterVms(FAILING);
    expect(after.map((vm) => vm.vmid)).toEqual(before.map((vm) => vm.vmid));
    const state = await h.repositories.syncState.getClusterState(FAILING);
    expect(state?.nodes[node]).toMatchObject({ online: false });
    const onNode = after.filter((vm) => vm.node === node);
    expect(onNode.length).toBeGreaterThan(0);
    for (const vm of after) {
      const original = before.find((b) => b.vmid === vm.vmid);
      const stale = vmFreshness(vm, state, h.clock.now).stale;
      expect(stale).toBe(vm.node === node);
      // Last known data of the offline node's guests is kept as it was.
      if (vm.node === node) expect(vm).toEqual(original);
    }
    h.sim.faults.reset();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRunMetricValues } from '#shared/sync/metrics.ts';
import { SyncMetric } from '#shared/sync/metrics-names.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness('sync-drift', { guestsPerCluster: 100, drift: true });
});

afterAll(async () => {
  await h?.close();
});

describe('write counts with load drift on', () => {
  it('costs only the cluster’s runtime set, the cluster state and the history buckets per quick pass', async () => {
    for (const cluster of h.sim.clusters) {
      expect((await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' })).summary.ok).toBe(
        true,
      );
    }
    for (let pass = 0; pass < 4; pass++) {
      await h.tick(15_000);
      for (const cluster of h.sim.clusters) {
        const result = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
        expect(result.summary.ok).toBe(true);
        expect(result.writes.inventory).toBe(0);
        // One packed runtime item for the whole cluster (100 guests), plus the sync state.
        expect(result.writes.runtime).toBeLessThanOrEqual(1);
        // The metrics history adds at most one bucket per node and minute (and one per quarter hour).
        expect(result.writes.history).toBeLessThanOrEqual(2 * cluster.nodes.length);
        expect(result.summary.writes).toBeLessThanOrEqual(1 + 1 + result.writes.history);
      }
    }
    // The drift is real: the runtime set was rewritten in some pass.
    const runtime = await h.repositories.syncState.readRuntime('sim-1');
    expect([...runtime.values()].some((node) => node.observed_at > h.clock.now - 60_000)).toBe(true);
  });

  it('emits the per-cluster metrics of every run', () => {
    const last = h.metrics.at(-1);
    if (!last) throw new Error('no metrics');
    const names = clusterRunMetricValues(last).map(([name]) => name);
    expect(names).toEqual(
      expect.arrayContaining([
        SyncMetric.SyncDuration,
        SyncMetric.Guests,
        SyncMetric.Changed,
        SyncMetric.Writes,
        SyncMetric.Errors,
        SyncMetric.SecondsSinceLastSuccess,
        SyncMetric.ProxmoxCalls,
      ]),
    );
    expect(last).toMatchObject({ guests: 100, errors: 0, proxmoxCalls: 1, secondsSinceLastSuccess: 0 });
  });
});

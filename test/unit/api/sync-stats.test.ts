import { describe, expect, it } from 'vitest';
import {
  evaluateHealth,
  type SyncRulesSettings,
  statsFromAggregates,
  statsFromVms,
} from '#shared/api/sync-stats.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import { clusterState, storedVm } from '../domain/fixtures.ts';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const settings: SyncRulesSettings = {
  staleAfterMs: 600_000,
  quickSyncIntervalMs: 30_000,
  healthMaxSyncAgeMs: 600_000,
  healthMaxConsecutiveErrors: 5,
};
const state = (id: string, agoMs: number | null, extra: Partial<ClusterState> = {}): ClusterState => ({
  ...clusterState(agoMs === null ? null : NOW - agoMs),
  cluster_id: id,
  cluster_name: id.toUpperCase(),
  ...extra,
});

describe('statsFromAggregates', () => {
  it('sums the clusters, counts only fresh clusters as fresh, and takes the worst error streak', () => {
    const stats = statsFromAggregates(
      [
        state('lab-b', 20_000, {
          counts: { total: 5, running: 4, error: 1, templates: 0 },
          consecutive_errors: 2,
        }),
        state('lab-a', 20_000, { counts: { total: 10, running: 7, error: 0, templates: 1 } }),
      ],
      NOW,
      settings,
    );
    expect(stats).toMatchObject({
      total_vms: 15,
      running_vms: 11,
      error_vms: 1,
      fresh_vms: 10,
      consecutive_errors: 2,
    });
    expect(stats.clusters.map((c) => c.cluster_id)).toEqual(['lab-a', 'lab-b']);
    expect(stats.last_full_sync).toBe(Math.floor((NOW - 20_000) / 1000));
  });

  it('is running when a quick sync succeeded within three intervals', () => {
    expect(statsFromAggregates([state('lab-a', 89_000)], NOW, settings).is_running).toBe(true);
    expect(statsFromAggregates([state('lab-a', 91_000)], NOW, settings).is_running).toBe(false);
    expect(statsFromAggregates([], NOW, settings).is_running).toBe(false);
  });

  it('is not running, saying why, when a cluster had no successful quick sync within the staleness cutoff', () => {
    const lagging = state('lab-b', 20_000, { last_quick_sync_at: NOW - 601_000 });
    const stats = statsFromAggregates([state('lab-a', 20_000), lagging], NOW, settings);
    expect(stats.is_running).toBe(false);
    expect(stats.not_running_reason).toMatch(/staleness cutoff \(600 s\) for cluster lab-b/);
    expect(statsFromAggregates([state('lab-a', 20_000)], NOW, settings).not_running_reason).toBeNull();
    expect(statsFromAggregates([], NOW, settings).not_running_reason).toBe('no sync has ever run');
    const health = evaluateHealth([state('lab-a', 20_000), lagging], NOW, settings);
    expect(health.healthy).toBe(false);
    expect(health.issues).toEqual([
      'cluster lab-b: no successful quick sync for 601 s (staleness cutoff 600 s)',
    ]);
  });

  it("gives admins each cluster's last error (redacted, at most 500 characters) and backoff", () => {
    const failing = state('lab-a', 20_000, {
      consecutive_errors: 3,
      backoff_until: NOW + 60_000,
      last_error:
        `ProxmoxConnectionError: connect ECONNREFUSED 10.0.0.5:8006 PVEAPIToken=root@pam!sync=0f0e0d0c-1111-2222-3333-444455556666 ${'x'.repeat(300)}`.slice(
          0,
          500,
        ),
    });
    const [cluster] = statsFromAggregates([failing], NOW, settings).clusters;
    expect(cluster?.last_error).toContain('ECONNREFUSED 10.0.0.5:8006');
    expect(cluster?.last_error).not.toContain('0f0e0d0c-1111');
    expect(cluster?.last_error?.length).toBeLessThanOrEqual(500);
    expect(cluster?.backoff_until).toBe(Math.floor((NOW + 60_000) / 1000));
    // A user's statistics and the public health never carry it.
    const [mine] = statsFromVms([storedVm({ cluster_id: 'lab-a' })], [failing], NOW, settings).clusters;
    expect(mine).not.toHaveProperty('last_error');
    expect(mine).not.toHaveProperty('backoff_until');
    expect(JSON.stringify(evaluateHealth([failing], NOW, settings))).not.toContain('ECONNREFUSED');
  });

  it('reports null sync times while any cluster never synced', () => {
    const stats = statsFromAggregates([state('lab-a', 1000), state('lab-b', null)], NOW, settings);
    expect(stats.last_full_sync).toBeNull();
  });
});

describe('statsFromVms', () => {
  it("counts a user's VMs with the list's staleness rule", () => {
    const vms = [
      storedVm({ cluster_id: 'lab-a', vmid: 101, node: 'pve1' }),
      storedVm({ cluster_id: 'lab-a', vmid: 102, status: 'stopped', sync_error: 'x' }),
      storedVm({ cluster_id: 'lab-b', vmid: 101 }),
    ];
    const stats = statsFromVms(vms, [state('lab-a', 10_000)], NOW, settings);
    expect(stats).toMatchObject({ total_vms: 3, running_vms: 2, error_vms: 1, fresh_vms: 2 });
    expect(stats.clusters.map((c) => [c.cluster_id, c.total_vms])).toEqual([
      ['lab-a', 2],
      ['lab-b', 1],
    ]);
  });
});

describe('evaluateHealth', () => {
  it('is healthy when every cluster synced recently without errors', () => {
    const health = evaluateHealth([state('lab-a', 30_000)], NOW, settings);
    expect(health).toMatchObject({ healthy: true, issues: [] });
  });

  it.each([
    ['no sync ever ran', [], /no sync has ever run/],
    ['a cluster never synced', [state('lab-a', null)], /lab-a: never synced/],
    ['a stale cluster', [state('lab-a', 700_000)], /lab-a: last successful sync 700 s ago/],
    [
      'consecutive errors at the threshold',
      [state('lab-a', 1000, { consecutive_errors: 5 })],
      /5 consecutive sync errors/,
    ],
  ])('is unhealthy when %s', (_label, states, issue) => {
    const health = evaluateHealth(states, NOW, settings);
    expect(health.healthy).toBe(false);
    expect(health.issues.join('\n')).toMatch(issue);
  });
});

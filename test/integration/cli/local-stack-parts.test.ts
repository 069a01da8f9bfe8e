import { describe, expect, it } from 'vitest';
import { type DemoGuest, planDemoOwnership } from '#local/seed/demo-ownership.ts';
import { formatDuration, parseDuration } from '#local/stack/durations.ts';
import { fitToWidth, formatFailureReasons, formatStatusLine } from '#local/stack/status-line.ts';
import type { LocalExecution } from '#local/stack/sync-runner.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';

/** Pure parts of the local stack: the demo seed's choices, durations and the status line. */

const guest = (cluster_id: string, vmid: number, extra: Partial<DemoGuest> = {}): DemoGuest => ({
  cluster_id,
  vmid,
  type: 'qemu',
  status: 'running',
  template: false,
  ...extra,
});

describe('planDemoOwnership', () => {
  const fleet: DemoGuest[] = [
    guest('sim-1', 100, { template: true }),
    guest('sim-2', 100),
    guest('sim-1', 101, { lock: 'backup' }),
    guest('sim-2', 101),
    guest('sim-1', 102),
    guest('sim-2', 102),
    guest('sim-1', 103, { status: 'stopped', hastate: 'started' }),
    guest('sim-1', 104, { status: 'stopped', type: 'lxc' }),
    guest('sim-1', 105, { status: 'stopped' }),
    guest('sim-1', 106),
    guest('sim-2', 107),
  ];

  it('gives alice and bob the same VMID on different clusters, skipping templates and locked guests', () => {
    const plan = planDemoOwnership(fleet);
    expect(plan.sharedVmid).toBe(102);
    expect(plan.vms).toContainEqual({ username: 'alice', cluster_id: 'sim-1', vmid: 102, source: 'class' });
    expect(plan.vms).toContainEqual({ username: 'bob', cluster_id: 'sim-2', vmid: 102, source: 'class' });
  });

  it('gives alice a stopped, plain QEMU guest to start (not HA-managed, not a container)', () => {
    expect(planDemoOwnership(fleet).aliceStartable).toEqual({ cluster_id: 'sim-1', vmid: 105 });
  });

  it('never gives one VM to two users and owns VMs on both clusters for each student', () => {
    const plan = planDemoOwnership(fleet);
    const keys = plan.vms.map((v) => `${v.cluster_id}/${v.vmid}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const user of ['alice', 'bob']) {
      const clusters = new Set(plan.vms.filter((v) => v.username === user).map((v) => v.cluster_id));
      expect(clusters).toEqual(new Set(['sim-1', 'sim-2']));
    }
  });

  it('works with a single cluster (no shared VMID)', () => {
    const plan = planDemoOwnership(fleet.filter((g) => g.cluster_id === 'sim-1'));
    expect(plan.sharedVmid).toBeNull();
    expect(plan.aliceStartable).toEqual({ cluster_id: 'sim-1', vmid: 105 });
  });
});

describe('durations', () => {
  it('reads seconds, minutes and milliseconds', () => {
    expect(parseDuration('--x', '30')).toBe(30_000);
    expect(parseDuration('--x', '30s')).toBe(30_000);
    expect(parseDuration('--x', '5m')).toBe(300_000);
    expect(parseDuration('--x', '500ms')).toBe(500);
    expect(formatDuration(300_000)).toBe('5 min');
    expect(formatDuration(30_000)).toBe('30 s');
  });

  it('names the option in its error', () => {
    expect(() => parseDuration('--quick-interval', 'soon')).toThrow(/--quick-interval: "soon"/);
    expect(() => parseDuration('--quick-interval', '5ms')).toThrow(/shorter than 100 ms/);
  });
});

describe('formatStatusLine', () => {
  const execution = (mode: 'full' | 'quick', extra: Partial<LocalExecution>): LocalExecution => ({
    name: mode,
    arn: mode,
    mode,
    clusterId: null,
    startedAt: Date.UTC(2026, 0, 1, 10, 0, 0),
    finishedAt: Date.UTC(2026, 0, 1, 10, 0, 5),
    result: { clusters: 2, ok: 2, failed: 0 },
    resultAt: Date.UTC(2026, 0, 1, 10, 0, 5),
    error: null,
    done: Promise.resolve(),
    ...extra,
  });
  const state = (cluster_id: string, extra: Partial<ClusterState>): ClusterState => ({
    cluster_id,
    cluster_name: cluster_id,
    last_quick_sync_at: null,
    last_full_sync_at: null,
    last_success_at: null,
    last_attempt_at: null,
    consecutive_errors: 0,
    backoff_until: null,
    last_error: null,
    nodes: {},
    counts: { total: 100, running: 60, error: 1, templates: 2 },
    updated_at: null,
    ...extra,
  });

  it('shows the last syncs, the guest counts and the failing clusters', () => {
    const line = formatStatusLine({
      runner: {
        lastFull: execution('full', {}),
        lastQuick: execution('quick', { result: { clusters: 2, ok: 1, failed: 1 } }),
        running: [],
      },
      clusters: [
        state('sim-1', {}),
        state('sim-2', { consecutive_errors: 3, last_error: 'connection refused' }),
      ],
      nowMs: Date.UTC(2026, 0, 1, 10, 0, 9),
    });
    expect(line).toBe(
      '[10:00:09] full 10:00:05 2/2 ok · quick 10:00:05 1/2 ok · 200 guests (120 running, 2 with errors) on 2 clusters · sim-2 failing (×3)',
    );
  });

  it('gives each failure reason whole on its own line', () => {
    const reason = `certificate of https://pve-a.example:8006 does not match the pinned fingerprint ${'AB:'.repeat(31)}CD`;
    const lines = formatFailureReasons([
      state('sim-1', {}),
      state('sim-2', { consecutive_errors: 2, last_error: reason }),
    ]);
    expect(lines).toEqual([`sim-2 failing: ${reason}`]);
  });

  it('shortens a live line only at a word boundary', () => {
    const line = 'full 10:00:05 2/2 ok · quick 10:00:05 1/2 ok · 200 guests';
    expect(fitToWidth(line, 200)).toBe(line);
    const fitted = fitToWidth(line, 30);
    expect(fitted.length).toBeLessThanOrEqual(30);
    expect(fitted).toBe('full 10:00:05 2/2 ok · quick…');
    expect(line.startsWith(fitted.slice(0, -1))).toBe(true);
  });

  it("shows a running quick execution's latest pass", () => {
    const line = formatStatusLine({
      runner: {
        lastFull: execution('full', {}),
        lastQuick: execution('quick', {}),
        running: [execution('quick', { finishedAt: null, resultAt: Date.UTC(2026, 0, 1, 10, 0, 8) })],
      },
      clusters: [],
      nowMs: Date.UTC(2026, 0, 1, 10, 0, 9),
    });
    expect(line).toContain('quick 10:00:08 2/2 ok (running)');
  });

  it('says when no sync has run yet', () => {
    const line = formatStatusLine({
      runner: { lastFull: null, lastQuick: null, running: [] },
      clusters: [],
      nowMs: 0,
    });
    expect(line).toContain('full never');
    expect(line).toContain('no cluster errors');
  });
});

import { freshVmCount, vmFreshness } from '#shared/domain/staleness.ts';
import { type ClusterState, ClusterStateSchema } from '#shared/domain/sync-state.ts';
import type { StoredVm } from '#shared/domain/vm-record.ts';
import type { ClusterSyncStats, SyncHealthResponse, SyncStatsResponse } from '#shared/http/schemas/sync.ts';
import { toSyncError } from '#shared/sync/sync-error.ts';

/**
 * Sync statistics and health, pure. Admins' figures come from the per-cluster aggregates the sync
 * keeps in its cluster state (never a table scan); a user's are counted over the VMs they see.
 */

/** Settings of the statistics and health rules. */
export interface SyncRulesSettings {
  /** staleness cutoff of a VM and of a cluster's last success, ms */
  readonly staleAfterMs: number;
  /** quick-sync interval, ms: `is_running` means a quick sync succeeded within 3 intervals */
  readonly quickSyncIntervalMs: number;
  /** health: a cluster whose last success is older than this is unhealthy, ms */
  readonly healthMaxSyncAgeMs: number;
  /** health: consecutive errors at or above this make a cluster unhealthy */
  readonly healthMaxConsecutiveErrors: number;
}

const toSeconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** Whether a cluster's aggregates count as fresh: a recent success and no failing attempt since. */
export function isClusterFresh(state: ClusterState, nowMs: number, staleAfterMs: number): boolean {
  return (
    state.last_success_at !== null &&
    nowMs - state.last_success_at <= staleAfterMs &&
    state.consecutive_errors === 0
  );
}

/** The oldest of the values, or null when any is null (some cluster never had it). */
function oldest(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((value) => value === null)) return null;
  return Math.min(...values.map((value) => value ?? 0));
}

interface Counts {
  total_vms: number;
  fresh_vms: number;
  error_vms: number;
  running_vms: number;
}

function clusterFigures(state: ClusterState, counts: Counts, withErrors = false): ClusterSyncStats {
  const figures: ClusterSyncStats = {
    cluster_id: state.cluster_id,
    cluster_name: state.cluster_name ?? state.cluster_id,
    ...counts,
    last_full_sync: toSeconds(state.last_full_sync_at),
    last_quick_sync: toSeconds(state.last_quick_sync_at),
    consecutive_errors: state.consecutive_errors,
  };
  if (!withErrors) return figures;
  return {
    ...figures,
    // Stored redacted and truncated; redacted again here in case an older writer missed a pattern.
    last_error: state.last_error === null ? null : toSyncError(state.last_error),
    backoff_until: toSeconds(state.backoff_until),
  };
}

/**
 * When a cluster last observed its guests' status: its last successful quick sync, or (before the
 * first one) its last successful sync of either kind.
 */
function lastStatusObservation(state: ClusterState): number | null {
  return state.last_quick_sync_at ?? state.last_success_at;
}

/** Clusters without a successful quick sync within the staleness cutoff. */
export function clustersWithoutRecentQuickSync(
  states: readonly ClusterState[],
  nowMs: number,
  staleAfterMs: number,
): ClusterState[] {
  return states.filter((state) => {
    const observed = lastStatusObservation(state);
    return observed === null || nowMs - observed > staleAfterMs;
  });
}

/** Whether the sync runs, and why not. */
function runningState(
  states: readonly ClusterState[],
  lastQuick: number | null,
  nowMs: number,
  settings: SyncRulesSettings,
): { running: boolean; reason: string | null } {
  if (states.length === 0) return { running: false, reason: 'no sync has ever run' };
  const window = 3 * settings.quickSyncIntervalMs;
  if (lastQuick === null || nowMs - lastQuick > window) {
    return { running: false, reason: `no quick sync succeeded in the last ${Math.round(window / 1000)} s` };
  }
  const lagging = clustersWithoutRecentQuickSync(states, nowMs, settings.staleAfterMs);
  if (lagging.length > 0) {
    return {
      running: false,
      reason: `no successful quick sync within the staleness cutoff (${Math.round(settings.staleAfterMs / 1000)} s) for cluster ${lagging.map((state) => state.cluster_id).join(', ')}`,
    };
  }
  return { running: true, reason: null };
}

function summarize(
  clusters: readonly ClusterSyncStats[],
  states: readonly ClusterState[],
  nowMs: number,
  settings: SyncRulesSettings,
): SyncStatsResponse {
  const sum = (pick: (c: ClusterSyncStats) => number) => clusters.reduce((acc, c) => acc + pick(c), 0);
  const lastQuick = states.reduce<number | null>(
    (latest, state) =>
      state.last_quick_sync_at !== null && (latest === null || state.last_quick_sync_at > latest)
        ? state.last_quick_sync_at
        : latest,
    null,
  );
  const running = runningState(states, lastQuick, nowMs, settings);
  return {
    total_vms: sum((c) => c.total_vms),
    fresh_vms: sum((c) => c.fresh_vms),
    error_vms: sum((c) => c.error_vms),
    running_vms: sum((c) => c.running_vms),
    // The time since which every cluster (in scope) has been synced: the oldest of theirs.
    last_full_sync: toSeconds(oldest(states.map((state) => state.last_full_sync_at))),
    last_quick_sync: toSeconds(oldest(states.map((state) => state.last_quick_sync_at))),
    consecutive_errors: states.reduce((max, state) => Math.max(max, state.consecutive_errors), 0),
    is_running: running.running,
    not_running_reason: running.reason,
    clusters: [...clusters],
  };
}

/**
 * Admin statistics from the clusters' aggregates. `fresh_vms` follows the list's per-VM `stale`
 * rule through the per-node counts; a state written before those existed counts all of a fresh
 * cluster's VMs, none of a stale or failing one's. Each cluster also shows its last error and
 * backoff (admins only: the routes give users {@link statsFromVms}).
 */
export function statsFromAggregates(
  states: readonly ClusterState[],
  nowMs: number,
  settings: SyncRulesSettings,
): SyncStatsResponse {
  const sorted = [...states].sort((a, b) => (a.cluster_id < b.cluster_id ? -1 : 1));
  const clusters = sorted.map((state) =>
    clusterFigures(
      state,
      {
        total_vms: state.counts.total,
        fresh_vms:
          freshVmCount(state.counts.by_node, state, nowMs, settings.staleAfterMs) ??
          (isClusterFresh(state, nowMs, settings.staleAfterMs) ? state.counts.total : 0),
        error_vms: state.counts.error,
        running_vms: state.counts.running,
      },
      true,
    ),
  );
  return summarize(clusters, sorted, nowMs, settings);
}

/**
 * A user's statistics, counted over the VMs they see (with the same staleness rule as the list);
 * only the clusters holding one of their VMs appear.
 */
export function statsFromVms(
  vms: readonly StoredVm[],
  states: readonly ClusterState[],
  nowMs: number,
  settings: SyncRulesSettings,
): SyncStatsResponse {
  const stateById = new Map(states.map((state) => [state.cluster_id, state]));
  const counts = new Map<string, Counts>();
  for (const vm of vms) {
    const entry = counts.get(vm.cluster_id) ?? { total_vms: 0, fresh_vms: 0, error_vms: 0, running_vms: 0 };
    entry.total_vms++;
    if (!vmFreshness(vm, stateById.get(vm.cluster_id), nowMs, settings.staleAfterMs).stale) entry.fresh_vms++;
    if (vm.sync_error !== null) entry.error_vms++;
    if (vm.status === 'running') entry.running_vms++;
    counts.set(vm.cluster_id, entry);
  }
  const inScope = [...counts.keys()]
    .sort()
    .map((clusterId) => stateById.get(clusterId) ?? ClusterStateSchema.parse({ cluster_id: clusterId }));
  const clusters = inScope.map((state) =>
    clusterFigures(
      state,
      counts.get(state.cluster_id) ?? { total_vms: 0, fresh_vms: 0, error_vms: 0, running_vms: 0 },
    ),
  );
  return summarize(clusters, inScope, nowMs, settings);
}

/**
 * The health rules: unhealthy when no sync ever ran (no cluster state, or a cluster never
 * succeeded), when a cluster's last success is older than the threshold, or when a cluster's
 * consecutive errors reach the threshold. Issues name cluster ids, never VMs; stats are counts.
 */
export function evaluateHealth(
  states: readonly ClusterState[],
  nowMs: number,
  settings: SyncRulesSettings,
): SyncHealthResponse {
  const issues: string[] = [];
  if (states.length === 0) issues.push('no sync has ever run');
  const sorted = [...states].sort((a, b) => (a.cluster_id < b.cluster_id ? -1 : 1));
  for (const state of sorted) {
    if (state.last_success_at === null) {
      issues.push(`cluster ${state.cluster_id}: never synced successfully`);
    } else if (nowMs - state.last_success_at > settings.healthMaxSyncAgeMs) {
      const age = Math.round((nowMs - state.last_success_at) / 1000);
      issues.push(`cluster ${state.cluster_id}: last successful sync ${age} s ago`);
    }
    const observed = lastStatusObservation(state);
    if (
      observed !== null &&
      state.last_success_at !== null &&
      nowMs - state.last_success_at <= settings.healthMaxSyncAgeMs &&
      nowMs - observed > settings.staleAfterMs
    ) {
      const age = Math.round((nowMs - observed) / 1000);
      issues.push(
        `cluster ${state.cluster_id}: no successful quick sync for ${age} s (staleness cutoff ${Math.round(settings.staleAfterMs / 1000)} s)`,
      );
    }
    if (state.consecutive_errors >= settings.healthMaxConsecutiveErrors) {
      issues.push(`cluster ${state.cluster_id}: ${state.consecutive_errors} consecutive sync errors`);
    }
  }
  const stats = statsFromAggregates(sorted, nowMs, settings);
  return {
    healthy: issues.length === 0,
    issues,
    stats: {
      clusters: sorted.length,
      total_vms: stats.total_vms,
      fresh_vms: stats.fresh_vms,
      error_vms: stats.error_vms,
      running_vms: stats.running_vms,
      consecutive_errors: stats.consecutive_errors,
      last_full_sync: stats.last_full_sync,
      last_quick_sync: stats.last_quick_sync,
    },
  };
}

import type { ClusterState } from '#shared/domain/sync-state.ts';
import type { PublishAlert } from './alerts.ts';

/**
 * Cluster health alerts as state transitions: a cluster goes `unsynced` when its last successful
 * sync is older than the staleness cutoff (or it never synced and its sync fails), and back to
 * `healthy` with a fresh success. The state is kept per cluster and changed by a conditional write,
 * so each transition is alerted once — not at every pass, and not twice by two runs at once.
 */

export type ClusterAlertState = 'healthy' | 'unsynced';

/** The stored alert state of each cluster (absent: healthy) and its guarded change. */
export interface ClusterAlertStateStore {
  list(): Promise<Map<string, ClusterAlertState>>;
  /** Changes `from` → `to`; false when another run changed it first (then it alerts, not this one). */
  transition(
    clusterId: string,
    from: ClusterAlertState,
    to: ClusterAlertState,
    atMs: number,
  ): Promise<boolean>;
}

/** The state a cluster's sync state says it is in now. Pure. */
export function judgeCluster(state: ClusterState, nowMs: number, cutoffMs: number): ClusterAlertState {
  if (state.last_success_at === null) return state.consecutive_errors > 0 ? 'unsynced' : 'healthy';
  return nowMs - state.last_success_at > cutoffMs ? 'unsynced' : 'healthy';
}

/**
 * Evaluates every cluster and alerts its transitions (once each). Resolves to the transitions
 * this call alerted, e.g. `['sim-2:cluster_unsynced']`.
 */
export async function alertClusterTransitions(input: {
  states: readonly ClusterState[];
  store: ClusterAlertStateStore;
  publishAlert: PublishAlert;
  nowMs: number;
  cutoffMs: number;
}): Promise<string[]> {
  const current = await input.store.list();
  const alerted: string[] = [];
  for (const state of input.states) {
    const was = current.get(state.cluster_id) ?? 'healthy';
    const now = judgeCluster(state, input.nowMs, input.cutoffMs);
    if (now === was) continue;
    if (!(await input.store.transition(state.cluster_id, was, now, input.nowMs))) continue;
    const kind = now === 'unsynced' ? 'cluster_unsynced' : 'cluster_healthy';
    await input.publishAlert(kind, {
      cluster_id: state.cluster_id,
      ...(state.cluster_name ? { cluster_name: state.cluster_name } : {}),
      last_success_at: state.last_success_at,
      last_error: state.last_error,
      cutoff_ms: input.cutoffMs,
    });
    alerted.push(`${state.cluster_id}:${kind}`);
  }
  return alerted;
}

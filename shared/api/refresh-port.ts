import type { VisibleScope } from '#shared/api/visibility.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import type { ClusterRefreshReport } from '#shared/http/schemas/vms.ts';
import { MAX_REFRESH_VMIDS } from '#shared/sync/contract.ts';

/**
 * The refresh port of GET /api/vms (`force_refresh` / `live`, and the first read of a cluster that
 * was never synced). The list handler calls it when an implementation is wired (see
 * `shared/refresh/wiring.ts`); without one the list answers from the table (mode "inventory").
 */

/** What the list asks the refresh to do. */
export interface RefreshClustersRequest {
  /** the clusters in the caller's scope to refresh */
  readonly clusterIds: readonly string[];
  /** why: the caller asked (`force_refresh`/`live`), or a cluster in scope was never synced */
  readonly reason: 'requested' | 'never-synced';
  /** epoch ms after which the list answers from the table as it is */
  readonly deadlineMs: number;
  /**
   * Per cluster, the guests whose live IP and RDP/SSH the refresh re-reads too (a `live` read of a
   * scope of at most {@link MAX_REFRESH_VMIDS} VMs); absent: status only.
   */
  readonly vmidsByCluster?: ReadonlyMap<string, readonly number[]>;
}

/** What the refresh achieved before the deadline. */
export interface RefreshClustersResult {
  /** false when some cluster was not refreshed before the deadline: the answer is flagged stale */
  readonly complete: boolean;
  /** per cluster: refreshed, coalesced (with a refresh under way or just done), failed, timed_out */
  readonly clusters: readonly ClusterRefreshReport[];
}

/** Refreshes clusters (synchronously invoking the sync-one-cluster function, rate limited and coalesced). */
export type RefreshClustersPort = (request: RefreshClustersRequest) => Promise<RefreshClustersResult>;

/** How long the list waits for a refresh before answering from the table (issue 5: 10 s). */
export const REFRESH_DEADLINE_MS = 10_000;

/** What to refresh before answering a list, or null (answer from the table as it is). */
export function planRefresh(
  scope: VisibleScope,
  states: readonly ClusterState[],
  query: { cluster?: string | undefined; force_refresh?: boolean | undefined; live?: boolean | undefined },
  configuredClusterIds: readonly string[] = [],
): Pick<RefreshClustersRequest, 'clusterIds' | 'reason'> | null {
  // An admin's scope is every cluster: those the sync has seen and those configured but never synced.
  const inScope = scope.all
    ? [...new Set([...states.map((state) => state.cluster_id), ...configuredClusterIds])]
    : [...new Set(scope.keys.map((key) => key.cluster_id))];
  const clusterIds = inScope.filter((id) => query.cluster === undefined || id === query.cluster).sort();
  if (clusterIds.length === 0) return null;
  if (query.force_refresh === true || query.live === true) return { clusterIds, reason: 'requested' };
  const lastSuccess = new Map(states.map((state) => [state.cluster_id, state.last_success_at]));
  const neverSynced = clusterIds.filter((id) => (lastSuccess.get(id) ?? null) === null);
  return neverSynced.length === 0 ? null : { clusterIds: neverSynced, reason: 'never-synced' };
}

/**
 * The guests whose addresses a requested refresh re-reads: every VM in the caller's scope (within
 * the refreshed clusters) when there are at most {@link MAX_REFRESH_VMIDS} of them, else none
 * (null: the refresh reads status only). An admin's scope is the clusters' guests, counted from
 * their sync state and listed from the table only when few enough (`listClusterVmids`).
 */
export async function refreshVmids(
  scope: VisibleScope,
  clusterIds: readonly string[],
  states: readonly ClusterState[],
  listClusterVmids: (clusterId: string) => Promise<number[]>,
): Promise<Map<string, number[]> | null> {
  const byCluster = new Map<string, number[]>();
  const refreshed = new Set(clusterIds);
  if (scope.all) {
    const counted = states.filter((state) => refreshed.has(state.cluster_id));
    const total = counted.reduce((sum, state) => sum + state.counts.total, 0);
    if (total > MAX_REFRESH_VMIDS) return null;
    // A cluster without a state was never synced: its refresh is its first full sync (every guest).
    const lists = await Promise.all(
      counted.map(async (state) => [state.cluster_id, await listClusterVmids(state.cluster_id)] as const),
    );
    for (const [clusterId, vmids] of lists) if (vmids.length > 0) byCluster.set(clusterId, vmids);
  } else {
    const keys = scope.keys.filter((key) => refreshed.has(key.cluster_id));
    if (keys.length > MAX_REFRESH_VMIDS) return null;
    for (const key of keys)
      byCluster.set(key.cluster_id, [...(byCluster.get(key.cluster_id) ?? []), key.vmid]);
  }
  let vmids = 0;
  for (const list of byCluster.values()) vmids += list.length;
  // Guests created since the counts were taken may push an admin's listing over the bound.
  return vmids > MAX_REFRESH_VMIDS ? null : byCluster;
}

/** Environment variable listing the configured cluster ids (comma-separated), set by the ApiStack. */
export const CONFIGURED_CLUSTER_IDS_ENV = 'CONFIGURED_CLUSTER_IDS';

/** The configured cluster ids from the environment (none when unset). */
export function configuredClusterIdsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const raw = env[CONFIGURED_CLUSTER_IDS_ENV] ?? '';
  return raw
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

import type { ClusterState } from './sync-state.ts';

/** The seed's cutoff: a VM not confirmed by a successful observation for 10 minutes is stale. */
export const DEFAULT_STALE_AFTER_MS = 10 * 60 * 1000;

/** What the derived `last_updated` needs about one VM. */
export interface DetailsAgeInput {
  node: string;
  /** epoch ms when its details were last written */
  last_updated: number | null;
  details_pending?: boolean;
  unobserved_since?: number | null;
}

/**
 * The time of the last successful full sync that saw the guest (its details are as of that sync),
 * derived at read time: the later of when its details were last written and the cluster's last full
 * sync, bounded by the last full sync that found the guest's node online. A guest whose status the
 * listing could not tell since before that sync was not seen by it: its written time stands. A guest
 * whose details are still pending has none (null). Nodes recorded before `last_full_online_at` existed count as seen.
 */
export function vmLastUpdated(
  vm: DetailsAgeInput,
  cluster: Partial<Pick<ClusterState, 'last_full_sync_at' | 'nodes'>> | null | undefined,
): number | null {
  if (vm.details_pending === true) return null;
  const written = vm.last_updated;
  const fullAt = cluster?.last_full_sync_at ?? null;
  if (fullAt === null) return written;
  const node = cluster?.nodes?.[vm.node];
  let seen: number | null =
    node === undefined || node.last_full_online_at === undefined ? fullAt : node.last_full_online_at;
  if (seen === null) return written;
  seen = Math.min(seen, fullAt);
  const unobserved = vm.unobserved_since ?? null;
  if (unobserved !== null && unobserved <= seen) return written;
  return written === null ? seen : Math.max(written, seen);
}

/**
 * How many of a cluster's VMs are fresh, counted from its per-node counts with the same rule as
 * each VM's `stale` flag ({@link vmFreshness}): every VM of a node is judged alike, except those whose
 * status the listing could not tell (always stale). Null when the counts have no per-node figures.
 */
export function freshVmCount(
  byNode: Readonly<Record<string, { total: number; unobserved: number }>> | undefined,
  cluster: Parameters<typeof vmFreshness>[1],
  nowMs: number,
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): number | null {
  if (byNode === undefined) return null;
  let fresh = 0;
  for (const [node, counts] of Object.entries(byNode)) {
    if (!vmFreshness({ node }, cluster, nowMs, staleAfterMs).stale) fresh += counts.total - counts.unobserved;
  }
  return fresh;
}

/** What the staleness rule needs about one VM. */
export interface StalenessInput {
  /** the VM's node (from its item) */
  node: string;
  /** epoch ms since when Proxmox could not tell its status, or null */
  unobserved_since?: number | null;
}

/** Result of the staleness rule. */
export interface Freshness {
  stale: boolean;
  /** epoch ms when the VM's status was last actually observed, or null if never */
  lastStatusCheck: number | null;
}

/**
 * The one staleness rule. A VM is stale when
 * - its cluster was never observed successfully, or its last successful observation is older than
 *   the cutoff, or
 * - its node is known to be offline, or the node was last seen online longer ago than the cutoff, or
 * - the listing could not tell its status (`unobserved_since` set), or
 * - the cluster's latest sync attempt failed (`consecutive_errors` > 0): its rows are last known
 *   data that the latest attempt could not confirm.
 *
 * `lastStatusCheck` is when the VM's status was last really observed: the older of the cluster's
 * last success and its node's last online observation (a VM on an offline node was last checked
 * when the node was last online, even though the cluster has been listed since). When the node is
 * not in the state (not recorded yet), the cluster's last success stands for it.
 */
export function vmFreshness(
  vm: StalenessInput,
  cluster:
    | (Pick<ClusterState, 'last_success_at' | 'nodes'> & Partial<Pick<ClusterState, 'consecutive_errors'>>)
    | null
    | undefined,
  nowMs: number,
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): Freshness {
  const clusterSeen = cluster?.last_success_at ?? null;
  const node = cluster?.nodes[vm.node];
  const nodeSeen = node ? node.last_online_at : clusterSeen;
  const unobservedSince = vm.unobserved_since ?? null;
  let lastStatusCheck = clusterSeen === null || nodeSeen === null ? null : Math.min(clusterSeen, nodeSeen);
  // Since the status became unknown, the listing no longer confirms it.
  if (lastStatusCheck !== null && unobservedSince !== null)
    lastStatusCheck = Math.min(lastStatusCheck, unobservedSince);

  const tooOld = (at: number | null) => at === null || nowMs - at > staleAfterMs;
  const failing = (cluster?.consecutive_errors ?? 0) > 0;
  const stale =
    tooOld(clusterSeen) || tooOld(nodeSeen) || node?.online === false || unobservedSince !== null || failing;
  return { stale, lastStatusCheck };
}

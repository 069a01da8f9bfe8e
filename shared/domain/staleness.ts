import type { ClusterState } from './sync-state.ts';

/** The seed's cutoff: a VM not confirmed by a successful observation for 10 minutes is stale. */
export const DEFAULT_STALE_AFTER_MS = 10 * 60 * 1000;

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

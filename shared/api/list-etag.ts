import { createHash } from 'node:crypto';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import { PENDING_ACTION_EXPIRY_MS } from '#shared/domain/to-api-vm.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';

/**
 * The list's ETag from versions (README "Read cache"): what a list answers is a function of the
 * caller, the query, the cluster states (each with its `inventory_version` and its nodes'
 * `runtime_at`), the ownership version (non-admins), and the time. The time matters only at known
 * moments (a cluster or node passing the staleness cutoff, a pending action expiring; uptime is
 * left out, as it always was), so the tag carries the first such moment after it was made:
 * `W/"<valid until, base 36>-<hash of the versions and that moment>"`. A request whose
 * If-None-Match holds such a tag, still valid and equal to the one made from the current versions,
 * is answered 304 after reading the versions only.
 */

/** What the versions basis of a list is made of. */
export interface ListVersionBasis {
  readonly caller: { readonly username: string; readonly roles: unknown };
  readonly query: unknown;
  readonly staleAfterMs: number;
  readonly states: readonly ClusterState[];
  /** the ownership version for a non-admin, null for an admin */
  readonly ownershipVersion: string | null;
  readonly admin: boolean;
}

/** A tag's validity when nothing time-derived would ever change (a day: then it is made again). */
const MAX_VALIDITY_MS = 24 * 3600_000;

/**
 * The versions basis, or null when a version is missing (a cluster never versioned, a node state
 * from before `runtime_at`, a non-admin without an ownership version): then the tag is made from
 * the body as before.
 */
export function versionBasis(input: ListVersionBasis): string | null {
  if (!input.admin && input.ownershipVersion === null) return null;
  for (const state of input.states) {
    if (state.inventory_version == null) return null;
    if (Object.values(state.nodes).some((node) => node.runtime_at === undefined)) return null;
  }
  const states = [...input.states]
    .sort((a, b) => (a.cluster_id < b.cluster_id ? -1 : 1))
    .map(({ updated_at: _updated, ...state }) => state);
  return JSON.stringify({
    caller: input.caller,
    query: input.query,
    stale_after_ms: input.staleAfterMs,
    states,
    ownership: input.admin ? null : input.ownershipVersion,
  });
}

/**
 * The first moment after `nowMs` when the list would change with time alone: a cluster or node
 * passing the staleness cutoff, or a pending action on the page expiring.
 */
export function validUntil(
  states: readonly ClusterState[],
  vms: readonly Pick<ApiVm, 'pending_since'>[],
  nowMs: number,
  staleAfterMs: number,
): number {
  let until = nowMs + MAX_VALIDITY_MS;
  const consider = (moment: number) => {
    if (moment > nowMs && moment < until) until = moment;
  };
  for (const state of states) {
    // `now - at > cutoff` turns true one millisecond after at + cutoff.
    if (state.last_success_at !== null) consider(state.last_success_at + staleAfterMs + 1);
    for (const node of Object.values(state.nodes)) {
      if (node.last_online_at !== null) consider(node.last_online_at + staleAfterMs + 1);
    }
  }
  for (const vm of vms) {
    if (vm.pending_since !== null) consider(Date.parse(vm.pending_since) + PENDING_ACTION_EXPIRY_MS + 1);
  }
  return until;
}

/** The tag of a versions basis valid until `until`. */
export function versionEtag(basis: string, until: number): string {
  const digest = createHash('sha256').update(`${until}\n${basis}`).digest('base64url').slice(0, 27);
  return `W/"${until.toString(36)}-${digest}"`;
}

/**
 * Whether an If-None-Match header holds a tag made from this basis that is still valid at `nowMs`
 * (only the versions were read to tell).
 */
export function matchesVersionEtag(
  ifNoneMatch: string | undefined,
  basis: string,
  nowMs: number,
): string | null {
  if (ifNoneMatch === undefined) return null;
  for (const candidate of ifNoneMatch.split(',')) {
    const match = /^(?:W\/)?"([0-9a-z]{1,12})-[A-Za-z0-9_-]{27}"$/.exec(candidate.trim());
    if (!match?.[1]) continue;
    const until = Number.parseInt(match[1], 36);
    if (!(nowMs < until)) continue;
    const tag = versionEtag(basis, until);
    if (tag.replace(/^W\//, '') === candidate.trim().replace(/^W\//, '')) return tag;
  }
  return null;
}

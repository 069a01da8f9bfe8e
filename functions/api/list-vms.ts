import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { matchesVersionEtag, validUntil, versionBasis, versionEtag } from '#shared/api/list-etag.ts';
import { DEFAULT_LIST_LIMIT } from '#shared/api/list-query.ts';
import { listVmsPage } from '#shared/api/list-vms.ts';
import { type InventoryReadCache, readCacheFromEnv } from '#shared/api/read-cache.ts';
import {
  configuredClusterIdsFromEnv,
  planRefresh,
  REFRESH_DEADLINE_MS,
  type RefreshClustersPort,
  refreshVmids,
} from '#shared/api/refresh-port.ts';
import { resolveVisibleScope, type VisibleScope } from '#shared/api/visibility.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import { discloseVm } from '#shared/http/disclosure.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { ListVmsResponse } from '#shared/http/schemas/vms.ts';
import { refreshPortFromEnv } from '#shared/refresh/wiring.ts';

/** Dependencies of GET /api/vms. */
export interface ListVmsDependencies extends ApiDependencies {
  /** Absent until the refresh path is wired: then `force_refresh`/`live` answer from the table. */
  readonly refreshClusters?: RefreshClustersPort;
  /** Configured clusters: one never synced is refreshed on an admin's first read. */
  readonly configuredClusterIds?: readonly string[];
  /** What a warm function keeps between requests, under versions (absent: every list reads all). */
  readonly readCache?: InventoryReadCache;
}

/** A caller's scope depends on the name and the roles (a teacher sees their classes' VMs). */
function callerKey(caller: Caller): string {
  return JSON.stringify([caller.username, caller.roles]);
}

/** Builds the GET /api/vms handler on the given dependencies. */
export function createListVmsHandler(dependencies: () => ListVmsDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.listVms,
    handler: async ({ query, caller, headers }) => {
      const { repositories, settings, now, refreshClusters, configuredClusterIds, readCache } = deps();
      /**
       * The versions basis of this request, or null when there is none or a refresh may run (then
       * the answer is not the versions' alone). No refresh runs for anyone when none runs for an
       * admin, whose scope covers every cluster.
       */
      const shortcutBasis = (current: readonly ClusterState[], ownership: string | null): string | null => {
        if (
          refreshClusters !== undefined &&
          planRefresh({ all: true }, current, query, configuredClusterIds) !== null
        ) {
          return null;
        }
        return versionBasis({
          caller: { username: caller.username, roles: caller.roles },
          query,
          staleAfterMs: settings.staleAfterMs,
          states: current,
          ownershipVersion: ownership,
          admin: caller.roles.admin,
        });
      };
      let scope: VisibleScope;
      let states: ClusterState[];
      let ownershipVersion: string | null = null;
      if (readCache === undefined) {
        [scope, states] = await Promise.all([
          resolveVisibleScope(caller, repositories.ownership),
          repositories.syncState.listClusterStates(),
        ]);
      } else {
        // The versions first (one Query): what the cache holds is used only under them.
        ({ states, ownershipVersion } = await repositories.syncState.readVersions());
        const earlyBasis = shortcutBasis(states, ownershipVersion);
        if (earlyBasis !== null) {
          // The client's copy is still what the versions say: no VM (nor ownership) is read.
          const tag = matchesVersionEtag(headers['if-none-match'], earlyBasis, now());
          if (tag !== null)
            return { status: 304, headers: { etag: tag, 'cache-control': 'private, no-cache' } };
        }
        scope = caller.roles.admin
          ? { all: true }
          : await readCache.scope(callerKey(caller), ownershipVersion, () =>
              resolveVisibleScope(caller, repositories.ownership),
            );
      }
      // An unknown cluster is a bad filter like any other (not an empty list that hides the typo).
      const known = new Set([...states.map((state) => state.cluster_id), ...(configuredClusterIds ?? [])]);
      if (query.cluster !== undefined && !known.has(query.cluster)) {
        throw new BadRequestError('The request is invalid', [
          { field: 'query.cluster', message: `unknown cluster "${query.cluster}"` },
        ]);
      }
      let mode: ListVmsResponse['mode'] = 'inventory';
      let refreshIncomplete = false;
      let refresh: ListVmsResponse['refresh'] = null;
      const plan =
        refreshClusters === undefined ? null : planRefresh(scope, states, query, configuredClusterIds);
      if (refreshClusters !== undefined && plan !== null) {
        const deadlineMs = now() + REFRESH_DEADLINE_MS;
        // A small scope (at most 50 VMs) also gets its addresses (live IP, RDP/SSH) re-read.
        const vmidsByCluster =
          plan.reason === 'requested'
            ? await refreshVmids(scope, plan.clusterIds, states, async (clusterId) =>
                (await repositories.inventory.listAllClusterVms(clusterId)).map((vm) => vm.vmid),
              )
            : null;
        const result = await refreshClusters({
          ...plan,
          deadlineMs,
          ...(vmidsByCluster === null ? {} : { vmidsByCluster }),
        });
        refreshIncomplete = !result.complete;
        refresh = { clusters: [...result.clusters] };
        // "live" only when every cluster in scope was refreshed (or joined a refresh) in time,
        // with the addresses it asked for.
        if (plan.reason === 'requested' && result.complete) mode = 'live';
        states = await repositories.syncState.listClusterStates();
      }
      // After a refresh the states were read again; the tag is made from what the page was read with.
      const basis = readCache === undefined || plan !== null ? null : shortcutBasis(states, ownershipVersion);
      const page = await listVmsPage(repositories, scope, {
        ...(readCache === undefined ? {} : { cache: readCache }),
        filters: query,
        limit: query.limit ?? DEFAULT_LIST_LIMIT,
        cursor: query.cursor,
        nowMs: now(),
        staleAfterMs: settings.staleAfterMs,
        clusterStates: states,
      });
      const stale = page.stale || refreshIncomplete;
      const vms = page.vms.map((vm) => discloseVm(vm, caller));
      const body: ListVmsResponse = {
        vms,
        is_admin: caller.roles.admin,
        mode,
        stale,
        refresh,
        next_cursor: page.nextCursor,
        generated_at: new Date(now()).toISOString(),
      };
      if (basis !== null) {
        const until = validUntil(states, vms, now(), settings.staleAfterMs);
        return { status: 200, body, etag: { value: versionEtag(basis, until) } };
      }
      // Uptime and generated_at change every second without changing what the VMs are: they are
      // left out of the ETag so that polling clients get 304s between syncs. (Built only here: a
      // copy of every VM, which the versions tag above does not need.)
      const bodyBasis = {
        vms: vms.map(({ uptime: _uptime, ...rest }) => rest),
        is_admin: caller.roles.admin,
        mode,
        stale,
        refresh,
        next_cursor: page.nextCursor,
      };
      return { status: 200, body, etag: { basis: bodyBasis } };
    },
  });
}

/** GET /api/vms — the VMs the caller may see, paged, with ETag/304 and gzip. */
export const handler = createListVmsHandler(() => {
  const deps = defaultApiDependencies();
  // The refresh (force_refresh/live, never-synced clusters): the sync-cluster function in AWS,
  // the sync service bound by the local stack; none wired → answers from the table.
  const refreshClusters = refreshPortFromEnv(process.env, {
    syncState: deps.repositories.syncState,
    now: deps.now,
  });
  const configuredClusterIds = configuredClusterIdsFromEnv(process.env);
  const readCache = readCacheFromEnv(process.env, deps.now);
  const withCache = readCache === undefined ? deps : { ...deps, readCache };
  return refreshClusters === undefined ? withCache : { ...withCache, refreshClusters, configuredClusterIds };
});

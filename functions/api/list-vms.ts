import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { DEFAULT_LIST_LIMIT } from '#shared/api/list-query.ts';
import { listVmsPage } from '#shared/api/list-vms.ts';
import {
  configuredClusterIdsFromEnv,
  planRefresh,
  REFRESH_DEADLINE_MS,
  type RefreshClustersPort,
  refreshVmids,
} from '#shared/api/refresh-port.ts';
import { resolveVisibleScope } from '#shared/api/visibility.ts';
import { discloseVm } from '#shared/http/disclosure.ts';
import { BadRequestError } from '#shared/http/errors.ts';
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
}

/** Builds the GET /api/vms handler on the given dependencies. */
export function createListVmsHandler(dependencies: () => ListVmsDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.listVms,
    handler: async ({ query, caller }) => {
      const { repositories, settings, now, refreshClusters, configuredClusterIds } = deps();
      let [scope, states] = await Promise.all([
        resolveVisibleScope(caller, repositories.ownership),
        repositories.syncState.listClusterStates(),
      ]);
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
      const page = await listVmsPage(repositories, scope, {
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
      // Uptime and generated_at change every second without changing what the VMs are: they are
      // left out of the ETag so that polling clients get 304s between syncs.
      const basis = {
        vms: vms.map(({ uptime: _uptime, ...rest }) => rest),
        is_admin: caller.roles.admin,
        mode,
        stale,
        refresh,
        next_cursor: page.nextCursor,
      };
      return { status: 200, body, etag: { basis } };
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
  return refreshClusters === undefined ? deps : { ...deps, refreshClusters, configuredClusterIds };
});

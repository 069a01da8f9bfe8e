import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { statsFromAggregates, statsFromVms } from '#shared/api/sync-stats.ts';
import { resolveVisibleScope } from '#shared/api/visibility.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/sync/stats handler on the given dependencies. */
export function createSyncStatsHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getSyncStats,
    handler: async ({ caller }) => {
      const { repositories, settings, now } = deps();
      const [scope, states] = await Promise.all([
        resolveVisibleScope(caller, repositories.ownership),
        repositories.syncState.listClusterStates(),
      ]);
      if (scope.all) return { status: 200, body: statsFromAggregates(states, now(), settings) };
      const vms = await repositories.inventory.getVms(scope.keys);
      return { status: 200, body: statsFromVms(vms, states, now(), settings) };
    },
  });
}

/** GET /api/sync/stats — sync statistics over what the caller may see. */
export const handler = createSyncStatsHandler(defaultApiDependencies);

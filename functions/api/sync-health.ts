import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { evaluateHealth } from '#shared/api/sync-stats.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/sync/health handler on the given dependencies. */
export function createSyncHealthHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getSyncHealth,
    handler: async () => {
      const { repositories, settings, now } = deps();
      const health = evaluateHealth(await repositories.syncState.listClusterStates(), now(), settings);
      return { status: health.healthy ? 200 : 503, body: health };
    },
  });
}

/** GET /api/sync/health — public health of the sync (counts only); 503 when unhealthy. */
export const handler = createSyncHealthHandler(defaultApiDependencies);

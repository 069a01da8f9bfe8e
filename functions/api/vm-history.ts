import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { vmHistoryForCaller } from '#shared/api/vm-history.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/vms/{cluster}/{vmid}/history handler on the given dependencies. */
export function createVmHistoryHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getVmHistory,
    handler: async ({ path, query, caller }) => {
      const body = await vmHistoryForCaller(deps(), {
        caller,
        cluster: path.cluster,
        vmid: path.vmid,
        range: query.range,
      });
      return { status: 200, body };
    },
  });
}

/** GET /api/vms/{cluster}/{vmid}/history — a VM's CPU and memory history, for whoever may see the VM. */
export const handler = createVmHistoryHandler(defaultApiDependencies);

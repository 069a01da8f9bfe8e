import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { toApiVms } from '#shared/api/list-vms.ts';
import { callerSeesVm } from '#shared/api/visibility.ts';
import { discloseVm } from '#shared/http/disclosure.ts';
import { NotFoundError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/vms/{cluster}/{vmid} handler on the given dependencies. */
export function createGetVmHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getVm,
    handler: async ({ path, caller }) => {
      const { repositories, settings, now } = deps();
      const key = { cluster_id: path.cluster, vmid: path.vmid };
      const [visible, vm, state] = await Promise.all([
        callerSeesVm(caller, key, repositories.ownership),
        repositories.inventory.getVm(key),
        repositories.syncState.getClusterState(key.cluster_id),
      ]);
      // The same answer for "absent" and "not yours": never reveal that another user's VM exists.
      if (!visible || vm === null) throw new NotFoundError('VM not found');
      const [apiVm] = await toApiVms(repositories.syncState, [vm], state === null ? [] : [state], {
        nowMs: now(),
        staleAfterMs: settings.staleAfterMs,
        onlyTheirNodes: true,
      });
      return { status: 200, body: apiVm === undefined ? apiVm : discloseVm(apiVm, caller), etag: true };
    },
  });
}

/** GET /api/vms/{cluster}/{vmid} — one VM; 404 when it does not exist or is not the caller's. */
export const handler = createGetVmHandler(defaultApiDependencies);

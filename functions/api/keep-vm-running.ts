import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { callerSeesVm } from '#shared/api/visibility.ts';
import { NotFoundError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { KeepRunningResponse } from '#shared/http/schemas/schedules.ts';

/** Builds the POST /api/vms/{cluster}/{vmid}/keep-running handler. */
export function createKeepVmRunningHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.keepVmRunning,
    audit: () => deps().audit,
    handler: async ({ path, caller }) => {
      const { repositories, now } = deps();
      const key = { cluster_id: path.cluster, vmid: path.vmid };
      // the same answer for "absent" and "not yours"
      if (!(await callerSeesVm(caller, key, repositories.ownership))) throw new NotFoundError('VM not found');
      const at = now();
      if (!(await repositories.inventory.resetIdleClock(key, at))) throw new NotFoundError('VM not found');
      const body: KeepRunningResponse = {
        ok: true,
        ...key,
        idle_reset_at: new Date(at).toISOString(),
        idle_shutdown_at: null,
      };
      return { status: 200, body };
    },
  });
}

/** POST /api/vms/{cluster}/{vmid}/keep-running — whoever sees the VM. */
export const handler = createKeepVmRunningHandler(defaultApiDependencies);

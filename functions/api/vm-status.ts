import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { readVmByVmid } from '#shared/api/vm-by-vmid.ts';
import { discloseVm } from '#shared/http/disclosure.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { VmStatusResponse } from '#shared/http/schemas/vms.ts';

/** Builds the GET /api/vm/{vmid}/status handler on the given dependencies. */
export function createVmStatusHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getVmStatus,
    handler: async ({ path, query, caller }) => {
      const vm = await readVmByVmid(deps(), { caller, vmid: path.vmid, clusterId: query.cluster });
      // Same per-role disclosure as the list: a user never sees a sync failure's internals.
      const body: VmStatusResponse = { ok: true, ...discloseVm(vm, caller) };
      return { status: 200, body };
    },
  });
}

/** GET /api/vm/{vmid}/status — one VM by bare VMID (the original portal's poll after an action). */
export const handler = createVmStatusHandler(defaultApiDependencies);

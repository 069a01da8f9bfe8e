import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { readVmByVmid } from '#shared/api/vm-by-vmid.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { VmIpResponse } from '#shared/http/schemas/vms.ts';

/** Builds the GET /api/vm/{vmid}/ip handler on the given dependencies. */
export function createVmIpHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getVmIp,
    handler: async ({ path, query, caller }) => {
      const vm = await readVmByVmid(deps(), { caller, vmid: path.vmid, clusterId: query.cluster });
      const body: VmIpResponse = {
        ok: true,
        cluster_id: vm.cluster_id,
        vmid: vm.vmid,
        ip: vm.ip,
        status: vm.status,
      };
      return { status: 200, body };
    },
  });
}

/** GET /api/vm/{vmid}/ip — a VM's address and status by bare VMID (the original portal's route). */
export const handler = createVmIpHandler(defaultApiDependencies);

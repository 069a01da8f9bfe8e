import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager } from '#shared/api/ownership-views.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the DELETE /api/classes/{classId}/vms/{cluster}/{vmid} handler on the given dependencies. */
export function createDeleteClassVmHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.deleteClassVm,
    audit: () => deps().audit,
    handler: async ({ path, caller }) => {
      const { ownership } = deps().repositories;
      requireClassManager(caller, await ownership.getClass(path.classId));
      await ownership.removeClassVm(path.classId, { cluster_id: path.cluster, vmid: path.vmid });
      return { status: 204 };
    },
  });
}

/** DELETE /api/classes/{classId}/vms/{cluster}/{vmid} — remove a VM from the class. */
export const handler = createDeleteClassVmHandler(defaultApiDependencies);

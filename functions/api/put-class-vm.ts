import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager, toClassResponse } from '#shared/api/ownership-views.ts';
import { callerSeesVm } from '#shared/api/visibility.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError, NotFoundError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the PUT /api/classes/{classId}/vms/{cluster}/{vmid} handler on the given dependencies. */
export function createPutClassVmHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.putClassVm,
    audit: () => deps().audit,
    handler: async ({ path, body, caller }) => {
      const { repositories, usernames, now } = deps();
      const { ownership } = repositories;
      const details = requireClassManager(caller, await ownership.getClass(path.classId));
      const key = { cluster_id: path.cluster, vmid: path.vmid };
      // A teacher may only bring VMs they already see into a class (else a class would be a way
      // to see anyone's VM); admins may add any VM of the inventory.
      const [vm, visible] = await Promise.all([
        repositories.inventory.getVm(key),
        callerSeesVm(caller, key, ownership),
      ]);
      if (vm === null || !visible) throw new NotFoundError('VM not found');
      let student: string | null = null;
      if (body.student !== null) {
        student = tryNormalizeUsername(body.student, usernames);
        if (student === null || !details.students.includes(student)) {
          throw new BadRequestError('Not a student of the class', [
            { field: 'body.student', message: 'must be a student of the class' },
          ]);
        }
      }
      await ownership.assignClassVm(path.classId, key, student, now());
      const updated = await ownership.getClass(path.classId);
      if (updated === null) throw new Error(`class ${path.classId} vanished while adding a VM`);
      return { status: 200, body: toClassResponse(updated, caller) };
    },
  });
}

/** PUT /api/classes/{classId}/vms/{cluster}/{vmid} — add a VM to the class, optionally for a student. */
export const handler = createPutClassVmHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { toAssignmentResponse } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import type { Assignment } from '#shared/domain/ownership.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the PUT /api/assignments handler on the given dependencies. */
export function createPutAssignmentHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.putAssignment,
    audit: () => deps().audit,
    handler: async ({ body, caller }) => {
      requireAdmin(caller);
      const { repositories, usernames, now } = deps();
      const username = tryNormalizeUsername(body.username, usernames);
      if (username === null) {
        throw new BadRequestError('Invalid username', [
          { field: 'body.username', message: 'invalid username' },
        ]);
      }
      const key = { cluster_id: body.cluster_id, vmid: body.vmid };
      const [vm, owners] = await Promise.all([
        repositories.inventory.getVm(key),
        repositories.ownership.listOwnersOfVm(key),
      ]);
      if (vm === null) {
        throw new BadRequestError('Unknown VM', [
          { field: 'body.vmid', message: `no VM ${key.vmid} on cluster ${key.cluster_id} in the inventory` },
        ]);
      }
      const existing = owners.find((a) => a.username === username && a.source === 'admin' && !a.suspended);
      if (existing !== undefined) return { status: 200, body: toAssignmentResponse(existing) };
      const assignment: Assignment = {
        username,
        ...key,
        source: 'admin',
        class_id: null,
        suspended: false,
        suspended_at: null,
        created_at: now(),
      };
      await repositories.ownership.putAssignment(assignment);
      return { status: 200, body: toAssignmentResponse(assignment) };
    },
  });
}

/** PUT /api/assignments — admins: assign a VM to a user (idempotent). */
export const handler = createPutAssignmentHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the DELETE /api/assignments handler on the given dependencies. */
export function createDeleteAssignmentHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.deleteAssignment,
    audit: () => deps().audit,
    handler: async ({ query, caller }) => {
      requireAdmin(caller);
      const { repositories, usernames } = deps();
      const username = tryNormalizeUsername(query.username, usernames);
      if (username === null) {
        throw new BadRequestError('Invalid username', [
          { field: 'query.username', message: 'invalid username' },
        ]);
      }
      const key = { username, cluster_id: query.cluster, vmid: query.vmid };
      // Direct assignments only: class assignments are removed through their class.
      await Promise.all([
        repositories.ownership.deleteAssignment({ ...key, source: 'admin' }),
        repositories.ownership.deleteAssignment({ ...key, source: 'mapping' }),
      ]);
      return { status: 204 };
    },
  });
}

/** DELETE /api/assignments — admins: remove a user's direct assignment of a VM. */
export const handler = createDeleteAssignmentHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { pageAssignments, toAssignmentResponse } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import type { Assignment } from '#shared/domain/ownership.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import { MAX_LIST_LIMIT } from '#shared/http/schemas/common.ts';

/** Builds the GET /api/assignments handler on the given dependencies. */
export function createListAssignmentsHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.listAssignments,
    handler: async ({ query, caller }) => {
      requireAdmin(caller);
      const { repositories, usernames } = deps();
      const { ownership } = repositories;
      let assignments: Assignment[];
      if (query.username !== undefined) {
        const username = tryNormalizeUsername(query.username, usernames);
        if (username === null) {
          throw new BadRequestError('Invalid username', [
            { field: 'query.username', message: 'invalid username' },
          ]);
        }
        assignments = await ownership.listAssignmentsOfUser(username, { includeSuspended: true });
      } else if (query.cluster !== undefined && query.vmid !== undefined) {
        assignments = await ownership.listOwnersOfVm({ cluster_id: query.cluster, vmid: query.vmid });
      } else {
        // Admin-only full listing (the repository pages through the ownership table).
        assignments = await ownership.listAllAssignments();
      }
      const filtered = assignments.filter(
        (a) =>
          (query.cluster === undefined || a.cluster_id === query.cluster) &&
          (query.vmid === undefined || a.vmid === query.vmid),
      );
      const { page, nextCursor } = pageAssignments(filtered, query.limit ?? MAX_LIST_LIMIT, query.cursor);
      return { status: 200, body: { assignments: page.map(toAssignmentResponse), next_cursor: nextCursor } };
    },
  });
}

/** GET /api/assignments — admins: list assignments. */
export const handler = createListAssignmentsHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager, requireMemberChange } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the DELETE /api/classes/{classId}/members/{username} handler on the given dependencies. */
export function createDeleteClassMemberHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.deleteClassMember,
    audit: () => deps().audit,
    handler: async ({ path, caller }) => {
      const { repositories, usernames } = deps();
      const { ownership } = repositories;
      const details = requireClassManager(caller, await ownership.getClass(path.classId));
      const username = tryNormalizeUsername(path.username, usernames);
      if (username === null) {
        throw new BadRequestError('Invalid username', [
          { field: 'path.username', message: 'invalid username' },
        ]);
      }
      requireMemberChange(caller, details, username, { kind: 'remove' });
      await ownership.removeClassMember(path.classId, username);
      return { status: 204 };
    },
  });
}

/** DELETE /api/classes/{classId}/members/{username} — remove a member. */
export const handler = createDeleteClassMemberHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager, requireMemberChange, toClassResponse } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the PUT /api/classes/{classId}/members/{username} handler on the given dependencies. */
export function createPutClassMemberHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.putClassMember,
    audit: () => deps().audit,
    handler: async ({ path, body, caller }) => {
      const { repositories, usernames } = deps();
      const { ownership } = repositories;
      const current = requireClassManager(caller, await ownership.getClass(path.classId));
      const username = tryNormalizeUsername(path.username, usernames);
      if (username === null) {
        throw new BadRequestError('Invalid username', [
          { field: 'path.username', message: 'invalid username' },
        ]);
      }
      requireMemberChange(caller, current, username, { kind: 'set', role: body.role });
      await ownership.addClassMember(path.classId, username, body.role);
      const details = await ownership.getClass(path.classId);
      if (details === null) throw new Error(`class ${path.classId} vanished while adding a member`);
      return { status: 200, body: toClassResponse(details, caller) };
    },
  });
}

/** PUT /api/classes/{classId}/members/{username} — add a student, or (admins, class owner) a teacher. */
export const handler = createPutClassMemberHandler(defaultApiDependencies);

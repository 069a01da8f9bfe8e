import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the DELETE /api/classes/{classId} handler on the given dependencies. */
export function createDeleteClassHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.deleteClass,
    audit: () => deps().audit,
    handler: async ({ path, caller }) => {
      requireAdmin(caller);
      const { ownership } = deps().repositories;
      if ((await ownership.getClass(path.classId)) !== null) await ownership.deleteClass(path.classId);
      return { status: 204 };
    },
  });
}

/** DELETE /api/classes/{classId} — admins: delete a class with its memberships and class assignments. */
export const handler = createDeleteClassHandler(defaultApiDependencies);

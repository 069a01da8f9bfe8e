import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { classRelation, toClassResponse } from '#shared/api/ownership-views.ts';
import { NotFoundError } from '#shared/http/errors.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/classes/{classId} handler on the given dependencies. */
export function createGetClassHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.getClass,
    handler: async ({ path, caller }) => {
      const details = await deps().repositories.ownership.getClass(path.classId);
      // Non-members get the same 404 as for a class that does not exist.
      if (details === null || classRelation(caller, details) === 'none')
        throw new NotFoundError('Class not found');
      return { status: 200, body: toClassResponse(details, caller) };
    },
  });
}

/** GET /api/classes/{classId} — one class (admins, its teachers and students). */
export const handler = createGetClassHandler(defaultApiDependencies);

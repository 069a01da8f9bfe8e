import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager, toClassResponse } from '#shared/api/ownership-views.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the PUT /api/classes/{classId} handler on the given dependencies. */
export function createUpdateClassHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.updateClass,
    handler: async ({ path, body, caller }) => {
      const { ownership } = deps().repositories;
      const details = requireClassManager(caller, await ownership.getClass(path.classId));
      const info = {
        ...details.info,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.description === undefined ? {} : { description: body.description }),
      };
      await ownership.putClass(info);
      return { status: 200, body: toClassResponse({ ...details, info }, caller) };
    },
  });
}

/** PUT /api/classes/{classId} — admins and the class's teachers: rename or describe it. */
export const handler = createUpdateClassHandler(defaultApiDependencies);

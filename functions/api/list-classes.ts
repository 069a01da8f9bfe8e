import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { toClassResponse } from '#shared/api/ownership-views.ts';
import type { ClassDetails } from '#shared/domain/ownership.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the GET /api/classes handler on the given dependencies. */
export function createListClassesHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.listClasses,
    handler: async ({ caller }) => {
      const { ownership } = deps().repositories;
      const classIds = caller.roles.admin
        ? (await ownership.listClasses()).map((info) => info.class_id)
        : (await ownership.listClassesOfUser(caller.username)).map((member) => member.class_id);
      const details = await Promise.all([...new Set(classIds)].map((id) => ownership.getClass(id)));
      const classes = details
        .filter((d): d is ClassDetails => d !== null)
        .map((d) => toClassResponse(d, caller))
        .sort((a, b) => (a.class_id < b.class_id ? -1 : 1));
      return { status: 200, body: { classes } };
    },
  });
}

/** GET /api/classes — all classes for admins, otherwise those the caller teaches or attends. */
export const handler = createListClassesHandler(defaultApiDependencies);

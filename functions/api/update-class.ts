import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { requireClassManager, toClassResponse } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the PUT /api/classes/{classId} handler on the given dependencies. */
export function createUpdateClassHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.updateClass,
    audit: () => deps().audit,
    handler: async ({ path, body, caller }) => {
      const { repositories, usernames } = deps();
      const { ownership } = repositories;
      const details = requireClassManager(caller, await ownership.getClass(path.classId));
      let owner = details.info.owner;
      if (body.owner !== undefined) {
        requireAdmin(caller);
        owner = tryNormalizeUsername(body.owner, usernames);
        if (owner === null || !details.teachers.includes(owner)) {
          throw new BadRequestError('The owner must be a teacher of the class', [
            { field: 'body.owner', message: 'must be a teacher of the class' },
          ]);
        }
      }
      const info = {
        ...details.info,
        owner,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.description === undefined ? {} : { description: body.description }),
      };
      await ownership.putClass(info);
      return { status: 200, body: toClassResponse({ ...details, info }, caller) };
    },
  });
}

/** PUT /api/classes/{classId} — admins and the class's teachers: rename or describe it; admins: name its owner. */
export const handler = createUpdateClassHandler(defaultApiDependencies);

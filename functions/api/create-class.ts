import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { newClassId, toClassResponse } from '#shared/api/ownership-views.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';

/** Builds the POST /api/classes handler on the given dependencies. */
export function createCreateClassHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.createClass,
    audit: () => deps().audit,
    handler: async ({ body, caller }) => {
      requireAdmin(caller);
      const { repositories, usernames, now } = deps();
      const teachers = (body.teachers ?? []).map((raw, index) => {
        const name = tryNormalizeUsername(raw, usernames);
        if (name === null) {
          throw new BadRequestError('Invalid username', [
            { field: `body.teachers[${index}]`, message: 'invalid username' },
          ]);
        }
        return name;
      });
      let owner = teachers[0] ?? null;
      if (body.owner !== undefined) {
        owner = tryNormalizeUsername(body.owner, usernames);
        if (owner === null) {
          throw new BadRequestError('Invalid username', [
            { field: 'body.owner', message: 'invalid username' },
          ]);
        }
        teachers.push(owner);
      }
      const classId = newClassId(body.name);
      await repositories.ownership.putClass({
        class_id: classId,
        name: body.name,
        description: body.description ?? null,
        owner,
        created_at: now(),
      });
      await Promise.all(
        [...new Set(teachers)].map((t) => repositories.ownership.addClassMember(classId, t, 'teacher')),
      );
      const details = await repositories.ownership.getClass(classId);
      if (details === null) throw new Error(`class ${classId} vanished right after it was written`);
      return { status: 201, body: toClassResponse(details, caller) };
    },
  });
}

/** POST /api/classes — admins: create a class. */
export const handler = createCreateClassHandler(defaultApiDependencies);

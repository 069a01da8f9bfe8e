import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { DEFAULT_LIST_LIMIT } from '#shared/api/list-query.ts';
import { tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { BadRequestError, UpstreamUnavailableError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import type { ListAuditResponse } from '#shared/http/schemas/audit.ts';
import { InvalidCursorError } from '#shared/store/dynamodb/errors.ts';

/** Builds the GET /api/audit handler on the given dependencies. */
export function createListAuditHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.listAudit,
    handler: async ({ query, caller }) => {
      requireAdmin(caller);
      const { audit, usernames } = deps();
      if (audit === undefined) {
        throw new UpstreamUnavailableError('The audit trail is not configured', 'AUDIT_TABLE is not set');
      }
      let actor: string | undefined;
      if (query.user !== undefined) {
        actor = tryNormalizeUsername(query.user, usernames) ?? undefined;
        if (actor === undefined) {
          throw new BadRequestError('Invalid username', [
            { field: 'query.user', message: 'invalid username' },
          ]);
        }
      }
      try {
        const page = await audit.listAudit(
          {
            actor,
            vm:
              query.cluster !== undefined && query.vmid !== undefined
                ? { cluster_id: query.cluster, vmid: query.vmid }
                : undefined,
            classId: query.class,
            fromMs: query.from === undefined ? undefined : Date.parse(query.from),
            toMs: query.to === undefined ? undefined : Date.parse(query.to),
          },
          query.limit ?? DEFAULT_LIST_LIMIT,
          query.cursor,
        );
        const body: ListAuditResponse = {
          entries: page.entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
          next_cursor: page.nextCursor,
        };
        return { status: 200, body };
      } catch (error) {
        if (error instanceof InvalidCursorError) {
          throw new BadRequestError('Invalid cursor', [
            { field: 'query.cursor', message: 'must be a cursor returned by a previous page' },
          ]);
        }
        throw error;
      }
    },
  });
}

/** GET /api/audit — admins: the audit trail, newest first, filtered and paged. */
export const handler = createListAuditHandler(defaultApiDependencies);

import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import {
  capProblems,
  importSizeProblem,
  keysToCheck,
  parseMappings,
  resolveMappings,
} from '#shared/api/mappings.ts';
import { vmKeyString } from '#shared/api/visibility.ts';
import type { Assignment } from '#shared/domain/ownership.ts';
import { BadRequestError, PayloadTooLargeError } from '#shared/http/errors.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import { type ImportMappingsResponse, MAPPINGS_IMPORT_LIMITS } from '#shared/http/schemas/ownership.ts';

/** Builds the POST /api/assignments/import handler on the given dependencies. */
export function createImportMappingsHandler(dependencies: () => ApiDependencies): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  return httpHandler({
    route: routes.importMappings,
    audit: () => deps().audit,
    handler: async ({ query, body, caller }) => {
      requireAdmin(caller);
      const tooLarge = importSizeProblem(body, MAPPINGS_IMPORT_LIMITS);
      if (tooLarge !== null) {
        throw new PayloadTooLargeError(`mappings.json refused: ${tooLarge}; nothing was imported`);
      }
      const { repositories, usernames, now } = deps();
      const knownClusters = (await repositories.syncState.listClusterStates())
        .map((s) => s.cluster_id)
        .sort();
      const parsed = parseMappings(body, { cluster: query.cluster, knownClusters, usernames });
      const found = await repositories.inventory.getVms(keysToCheck(parsed.entries, knownClusters));
      const resolved = resolveMappings(parsed.entries, new Set(found.map(vmKeyString)), knownClusters);
      const problems = [...parsed.problems, ...resolved.problems];
      if (problems.length > 0) {
        throw new BadRequestError(
          `mappings.json refused: ${problems.length} problem(s); nothing was imported`,
          capProblems(problems),
        );
      }
      // Only the pairs of the file are read back (batched, bounded concurrency), never each user's list.
      const current = await repositories.ownership.getAssignments(
        resolved.targets.map((t) => ({ ...t, source: 'mapping' as const, class_id: null })),
      );
      // A suspended mapping is written again (its VM is back), as a new one would be.
      const held = new Set(current.filter((a) => !a.suspended).map((a) => `${a.username}#${vmKeyString(a)}`));
      const createdAt = now();
      const toWrite: Assignment[] = resolved.targets
        .filter((t) => !held.has(`${t.username}#${vmKeyString(t)}`))
        .map((t) => ({
          ...t,
          source: 'mapping',
          class_id: null,
          suspended: false,
          suspended_at: null,
          created_at: createdAt,
        }));
      const dryRun = query.dry_run === true;
      // Every entry was validated above, so the writes are all-or-nothing in content; they are
      // idempotent puts, so a write interrupted by a throttle completes on a retry of the import.
      if (!dryRun && toWrite.length > 0) await repositories.ownership.putAssignments(toWrite);
      const answer: ImportMappingsResponse = {
        dry_run: dryRun,
        users: resolved.users.length,
        assignments: resolved.targets.length,
        created: toWrite.length,
        unchanged: resolved.targets.length - toWrite.length,
      };
      return { status: 200, body: answer };
    },
  });
}

/** POST /api/assignments/import — admins: import mappings.json, all or nothing. */
export const handler = createImportMappingsHandler(defaultApiDependencies);

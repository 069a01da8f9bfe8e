/** GET /api/bulk-actions/{bulkId}: a bulk action's lines, pending ones brought up to date from the table. */

import type { BulkJobStore } from '#shared/actions/bulk-job.ts';
import { readBulkAction, toBulkResponse } from '#shared/actions/bulk-service.ts';
import { type ApiDependencies, defaultApiDependencies, lazyDependencies } from '#shared/api/dependencies.ts';
import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import { DynamoDbBulkJobStore } from '#shared/store/dynamodb/bulk-job-repository.ts';

/** Builds the handler on the API dependencies and a job store. */
export function createGetBulkActionHandler(
  dependencies: () => ApiDependencies,
  jobStore: () => BulkJobStore,
): HttpLambdaHandler {
  const deps = lazyDependencies(dependencies);
  const jobs = lazyDependencies(jobStore);
  return httpHandler({
    route: routes.getBulkAction,
    handler: async ({ path, caller }) => {
      const { repositories, now } = deps();
      const job = await readBulkAction(
        { inventory: repositories.inventory, jobs: jobs(), now },
        caller,
        path.bulkId,
      );
      return { status: 200, body: toBulkResponse(job) };
    },
  });
}

export const handler = createGetBulkActionHandler(
  defaultApiDependencies,
  () => new DynamoDbBulkJobStore(getDocumentClient(), tableNamesFromEnv(process.env).syncState),
);

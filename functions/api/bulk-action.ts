/**
 * POST /api/bulk-actions: one power action on many VMs (a list, or a class's VMs for its teachers
 * and admins), each through the single action's checks, at most the per-node worker limit at once.
 * A request with failed VMs alerts the admins once (`ALERT_TOPIC_ARN`).
 */
import { randomUUID } from 'node:crypto';
import { type BulkServiceDeps, startBulkAction, toBulkResponse } from '#shared/actions/bulk-service.ts';
import { defaultActionWiring, structuredLogger } from '#shared/actions/wiring.ts';
import { alertPublisherFromEnv } from '#shared/alerts/wiring.ts';
import { defaultApiDependencies } from '#shared/api/dependencies.ts';
import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import { DynamoDbBulkJobStore } from '#shared/store/dynamodb/bulk-job-repository.ts';

/** Builds the handler on a dependency factory (tests inject their own). */
export function createBulkActionHandler(deps: () => Promise<BulkServiceDeps>): HttpLambdaHandler {
  return httpHandler({
    route: routes.bulkAction,
    handler: async ({ body, caller }) => {
      const job = await startBulkAction(await deps(), {
        caller,
        action: body.action,
        vms: body.vms,
        classId: body.class_id,
        requestId: randomUUID(),
      });
      return { status: 200, body: toBulkResponse(job) };
    },
  });
}

/** The process's dependencies from the environment. */
async function defaultBulkDeps(): Promise<BulkServiceDeps> {
  const api = defaultApiDependencies();
  const wiring = await defaultActionWiring();
  return {
    inventory: api.repositories.inventory,
    ownership: api.repositories.ownership,
    jobs: new DynamoDbBulkJobStore(getDocumentClient(), tableNamesFromEnv(process.env).syncState),
    newId: randomUUID,
    actionService: (waitMs) => wiring.actionService(waitMs),
    workerLimit: (clusterId) => wiring.workerLimit(clusterId),
    audit: api.audit,
    publishAlert: alertPublisherFromEnv(process.env, structuredLogger),
    logger: structuredLogger,
    now: api.now,
  };
}

export const handler = createBulkActionHandler(defaultBulkDeps);

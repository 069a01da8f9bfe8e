/**
 * POST /api/sync/trigger (admins): starts a sync now, coalesced with a recent or running trigger
 * (202 either way). The same function is the operator's "admin-invoked trigger Lambda":
 * `aws lambda invoke --payload '{"mode":"full"}'` (a plain `{mode, cluster_id}` payload) gets the
 * same answer body.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { lazyDependencies } from '#shared/api/dependencies.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { getDocumentClient } from '#shared/clients/dynamodb.ts';
import { requireAdmin } from '#shared/http/identity.ts';
import { type HttpLambdaHandler, httpHandler } from '#shared/http/middleware.ts';
import { routes } from '#shared/http/routes.ts';
import {
  TriggerSyncBodySchema,
  type TriggerSyncHttpResponse,
  type TriggerSyncResponse,
} from '#shared/http/schemas/sync.ts';
import { logger } from '#shared/observability/powertools.ts';
import { DynamoDbSyncStateRepository } from '#shared/store/dynamodb/sync-state-repository.ts';
import { createTriggerService, type TriggerService } from '#shared/trigger/trigger-service.ts';
import { DynamoDbTriggerStore } from '#shared/trigger/trigger-store.ts';
import {
  executionStarterFromEnv,
  requiredClusterIdsFromEnv,
  syncStateTableFromEnv,
} from '#shared/trigger/wiring.ts';

/** The operator's payload was not `{mode?, cluster_id?}`; the message names each bad field. */
export class InvalidTriggerPayloadError extends Error {
  override readonly name = 'InvalidTriggerPayloadError';
}

/** Builds the HTTP route's handler on a service factory (tests inject their own, and may give an audit port). */
export function createTriggerHttpHandler(
  service: () => TriggerService,
  audit?: () => AuditPort | undefined,
): HttpLambdaHandler {
  return httpHandler({
    route: routes.triggerSync,
    ...(audit === undefined ? {} : { audit }),
    handler: async ({ body, caller }) => {
      requireAdmin(caller);
      const result = await service().trigger(body);
      logger.info('Sync triggered', { ...result, by: caller.username });
      const answer: TriggerSyncHttpResponse = { ok: true, ...result };
      return { status: 202, body: answer };
    },
  });
}

/** Handles a direct invocation: a plain `{mode, cluster_id}` payload (defaults: full, all clusters). */
export async function handleOperatorInvocation(
  payload: unknown,
  service: TriggerService,
): Promise<TriggerSyncResponse> {
  const parsed = TriggerSyncBodySchema.safeParse(payload ?? {});
  if (!parsed.success) {
    throw new InvalidTriggerPayloadError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; '),
    );
  }
  const result = await service.trigger(parsed.data);
  logger.info('Sync triggered by a direct invocation', { ...result });
  return result;
}

const HttpApiEventSchema = z
  .object({ version: z.literal('2.0'), requestContext: z.object({}).loose() })
  .loose();

/** True for an API Gateway payload 2.0 event (the route), false for an operator's payload. */
export function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return HttpApiEventSchema.safeParse(event).success;
}

/** One entry point for both callers. */
export function createTriggerHandler(
  service: () => TriggerService,
  audit?: () => AuditPort | undefined,
): (event: unknown, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | TriggerSyncResponse> {
  const http = createTriggerHttpHandler(service, audit);
  return async (event, context) =>
    isHttpApiEvent(event) ? http(event, context) : handleOperatorInvocation(event, service());
}

const defaultService = lazyDependencies(() =>
  createTriggerService({
    store: new DynamoDbTriggerStore(getDocumentClient(), syncStateTableFromEnv(process.env)),
    starter: executionStarterFromEnv(process.env),
    clusterIds: requiredClusterIdsFromEnv(process.env),
    syncState: new DynamoDbSyncStateRepository(getDocumentClient(), syncStateTableFromEnv(process.env)),
  }),
);

export const handler = createTriggerHandler(defaultService);

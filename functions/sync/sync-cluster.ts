/**
 * Step Functions task (and the API's synchronous refresh): syncs one cluster in `full` or `quick`
 * mode (contract 5, SyncCluster). A Proxmox failure comes back as `ok: false`; only a crash throws,
 * and the state machine's in-iteration Catch records it.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, withInvocationLogger } from '#shared/observability/powertools.ts';
import { tracer } from '#shared/observability/tracer.ts';
import {
  parseTaskPayload,
  SyncClusterInputSchema,
  type SyncSummary,
  SyncSummarySchema,
} from '#shared/sync/contract.ts';
import { getSyncService } from '#shared/sync/service.ts';

async function syncCluster(event: unknown, context: Context): Promise<SyncSummary> {
  const input = parseTaskPayload(SyncClusterInputSchema, event, 'SyncCluster input');
  logger.appendKeys({ cluster_id: input.cluster_id, mode: input.mode });
  const service = await getSyncService();
  // The run stops (and keeps its work) before the function is killed.
  const deadlineAt = Date.now() + context.getRemainingTimeInMillis();
  const summary = await service.syncCluster(input, { deadlineAt });
  return parseTaskPayload(SyncSummarySchema, summary, 'SyncCluster output');
}

export const handler = withInvocationLogger(
  middy(syncCluster).use(captureLambdaHandler(tracer)).use(logMetrics(metrics)),
);

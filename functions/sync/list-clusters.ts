/** Step Functions task: lists the clusters a sync run covers (contract 5, ListClusters). */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { metrics, withInvocationLogger } from '#shared/observability/powertools.ts';
import { tracer } from '#shared/observability/tracer.ts';
import {
  ListClustersInputSchema,
  type ListClustersOutput,
  ListClustersOutputSchema,
  parseTaskPayload,
} from '#shared/sync/contract.ts';
import { getSyncService } from '#shared/sync/service.ts';

async function listClusters(event: unknown): Promise<ListClustersOutput> {
  const input = parseTaskPayload(ListClustersInputSchema, event, 'ListClusters input');
  const service = await getSyncService();
  const output = await service.listClusters(input);
  return parseTaskPayload(ListClustersOutputSchema, output, 'ListClusters output');
}

export const handler = withInvocationLogger(
  middy(listClusters).use(captureLambdaHandler(tracer)).use(logMetrics(metrics)),
);

/** Step Functions task: records one run's (or quick pass's) results in the global sync stats (contract 5, RecordRun). */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { metrics, withInvocationLogger } from '#shared/observability/powertools.ts';
import { tracer } from '#shared/observability/tracer.ts';
import {
  parseTaskPayload,
  RecordRunInputSchema,
  type RecordRunOutput,
  RecordRunOutputSchema,
} from '#shared/sync/contract.ts';
import { getSyncService } from '#shared/sync/service.ts';

async function recordRun(event: unknown): Promise<RecordRunOutput> {
  const input = parseTaskPayload(RecordRunInputSchema, event, 'RecordRun input');
  const service = await getSyncService();
  const output = await service.recordRun(input);
  return parseTaskPayload(RecordRunOutputSchema, output, 'RecordRun output');
}

export const handler = withInvocationLogger(
  middy(recordRun).use(captureLambdaHandler(tracer)).use(logMetrics(metrics)),
);

import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { lazyDependencies } from '#shared/api/dependencies.ts';
import { toLiveRecords } from '#shared/live/adapters/stream-event.ts';
import { liveWiringFromEnv } from '#shared/live/wiring.ts';
import { logger } from '#shared/observability/powertools.ts';

/**
 * DynamoDB Streams → live updates (the inventory, sync state and ownership tables' streams; locally
 * the stream poller calls this same handler). Failed records are reported for retry (partial batch
 * response); a gone connection is never a failure.
 */
const wiring = lazyDependencies(() => liveWiringFromEnv(process.env));

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const { fanout, sourceOfTable } = wiring();
  const records = toLiveRecords(event.Records, sourceOfTable);
  const result = await fanout.process(records);
  if (result.failedSequenceNumbers.length > 0)
    logger.error('live fan-out left records to retry', { failed: result.failedSequenceNumbers.length });
  return { batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
}

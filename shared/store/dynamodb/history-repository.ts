import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  decodeHistoryGuests,
  encodeHistoryGuests,
  HISTORY_RETENTION_MS,
  type HistoryBucket,
  type HistoryItem,
  HistoryItemSchema,
  type HistoryResolution,
} from '#shared/domain/metrics-history.ts';
import type { MetricsHistoryRepository, WriteReport } from '../ports.ts';
import { historyKeys } from '../table-design.ts';
import { batchWriteAll, DEFAULT_RETRY_POLICY, type RetryPolicy } from './batch-operations.ts';
import { parseItem } from './helpers.ts';

/** The stored item of a bucket (see {@link HistoryItemSchema}). */
export function toHistoryItem(bucket: HistoryBucket): HistoryItem {
  return {
    ...historyKeys.bucket(bucket.cluster_id, bucket.resolution, bucket.t, bucket.node),
    node: bucket.node,
    t: bucket.t,
    n: bucket.samples,
    g: encodeHistoryGuests(bucket.guests),
    expires_at: Math.ceil((bucket.t + HISTORY_RETENTION_MS[bucket.resolution]) / 1000),
  };
}

/**
 * DynamoDB adapter of {@link MetricsHistoryRepository} on the SyncState table: one small item per
 * cluster, node and bucket, put once (BatchWrite), removed by TTL after its retention.
 */
export class DynamoDbHistoryRepository implements MetricsHistoryRepository {
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: { retryPolicy?: RetryPolicy } = {},
  ) {
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  }

  async putBuckets(buckets: readonly HistoryBucket[]): Promise<WriteReport> {
    return batchWriteAll(
      this.client,
      this.tableName,
      buckets.map((bucket) => ({ PutRequest: { Item: toHistoryItem(bucket) } })),
      this.retryPolicy,
    );
  }

  async queryBuckets(
    clusterId: string,
    resolution: HistoryResolution,
    fromMs: number,
    toMs: number,
  ): Promise<HistoryBucket[]> {
    const range = historyKeys.range(Math.max(0, fromMs), Math.max(0, toMs));
    const buckets: HistoryBucket[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': historyKeys.partition(clusterId, resolution),
            ':from': range.from,
            ':to': range.to,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const raw of result.Items ?? []) {
        const item = parseItem(HistoryItemSchema, raw, `${this.tableName} history ${clusterId}`);
        buckets.push({
          cluster_id: clusterId,
          node: item.node,
          resolution,
          t: item.t,
          samples: item.n,
          guests: decodeHistoryGuests(item.g),
        });
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return buckets;
  }
}

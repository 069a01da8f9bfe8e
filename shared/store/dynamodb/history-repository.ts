import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeHistoryPack, encodeHistoryPack } from '#shared/domain/history-pack.ts';
import {
  decodeHistoryGuests,
  HISTORY_RETENTION_MS,
  type HistoryBucket,
  HistoryItemSchema,
  type HistoryResolution,
  type PackedHistoryItem,
} from '#shared/domain/metrics-history.ts';
import type { MetricsHistoryRepository, WriteReport } from '../ports.ts';
import { historyKeys } from '../table-design.ts';
import { batchWriteAll, DEFAULT_RETRY_POLICY, type RetryPolicy } from './batch-operations.ts';
import { parseItem } from './helpers.ts';

/**
 * The stored items of buckets: one per cluster, resolution and time, every node's bucket packed
 * into it (`PackedHistoryItemSchema`, history-pack.ts). A node given twice for one time keeps the last.
 */
export function toHistoryItems(buckets: readonly HistoryBucket[]): PackedHistoryItem[] {
  const groups = new Map<string, { first: HistoryBucket; nodes: Map<string, HistoryBucket> }>();
  for (const bucket of buckets) {
    const key = JSON.stringify([bucket.cluster_id, bucket.resolution, bucket.t]);
    const group = groups.get(key) ?? { first: bucket, nodes: new Map<string, HistoryBucket>() };
    group.nodes.set(bucket.node, bucket);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ first, nodes }) => ({
    ...historyKeys.bucket(first.cluster_id, first.resolution, first.t),
    t: first.t,
    p: encodeHistoryPack(
      [...nodes.values()]
        .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
        .map((bucket) => ({ node: bucket.node, samples: bucket.samples, guests: bucket.guests })),
    ),
    expires_at: Math.ceil((first.t + HISTORY_RETENTION_MS[first.resolution]) / 1000),
  }));
}

/**
 * DynamoDB adapter of {@link MetricsHistoryRepository} on the SyncState table: one packed item per
 * cluster and bucket, put once (BatchWrite), removed by TTL after its retention. Items of the
 * earlier layout (one per node) are read alongside until they expire.
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
      toHistoryItems(buckets).map((item) => ({ PutRequest: { Item: item } })),
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
        if ('p' in item) {
          for (const section of decodeHistoryPack(item.p)) {
            buckets.push({
              cluster_id: clusterId,
              node: section.node,
              resolution,
              t: item.t,
              samples: section.samples,
              guests: section.guests,
            });
          }
          continue;
        }
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

import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { ClusterAlertState, ClusterAlertStateStore } from '#shared/alerts/cluster-alerts.ts';
import { syncStateKeys } from '../table-design.ts';
import { isConditionalCheckFailed, parseItem } from './helpers.ts';

const AlertStateItemSchema = z.object({
  sk: z.string().min(1),
  state: z.enum(['healthy', 'unsynced']),
  since: z.number().int().nonnegative(),
});

/** DynamoDB adapter of {@link ClusterAlertStateStore}: `ALERTS`/`<cluster>` items in the SyncState table. */
export class DynamoDbClusterAlertStateStore implements ClusterAlertStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<Map<string, ClusterAlertState>> {
    const states = new Map<string, ClusterAlertState>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': syncStateKeys.alertStatePartition },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const raw of result.Items ?? []) {
        const item = parseItem(AlertStateItemSchema, raw, `${this.tableName} alert state`);
        states.set(item.sk, item.state);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return states;
  }

  async transition(
    clusterId: string,
    from: ClusterAlertState,
    to: ClusterAlertState,
    atMs: number,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...syncStateKeys.alertState(clusterId), state: to, since: atMs },
          // An absent item is `healthy`.
          ConditionExpression:
            from === 'healthy' ? 'attribute_not_exists(pk) OR #state = :from' : '#state = :from',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':from': from },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

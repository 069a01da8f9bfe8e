import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { isConditionalCheckFailed, parseItem } from '#shared/store/dynamodb/helpers.ts';

/**
 * The last manual trigger per (mode, cluster scope), kept in the SyncState table
 * (`pk = TRIGGER`, `sk = <mode>#<cluster id or *>`). A conditional put that replaces only the record
 * a trigger read makes concurrent triggers, in any Lambda instance, start one execution.
 */

/** Partition of the trigger records in SyncState. */
export const TRIGGER_PARTITION = 'TRIGGER';

/** Trigger records are removed by TTL a day after they were written (cleanup only). */
const CLEANUP_AFTER_S = 24 * 3600;

/** A trigger record as stored. */
export const TriggerRecordSchema = z.object({
  mode: z.enum(['full', 'quick']),
  cluster_id: z.string().nullable(),
  execution_name: z.string().min(1),
  /** null for the moment between the claim and StartExecution's answer */
  execution_arn: z.string().nullable().default(null),
  started_at: z.number().int().nonnegative(),
});
export type TriggerRecord = z.infer<typeof TriggerRecordSchema>;

export type ClaimResult =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly current: TriggerRecord | null };

/** Port of the trigger records. */
export interface TriggerStore {
  get(mode: TriggerRecord['mode'], clusterId: string | null): Promise<TriggerRecord | null>;
  /** Writes `record` if the stored one is still `previousName`'s (or absent when null). */
  claim(record: TriggerRecord, previousName: string | null): Promise<ClaimResult>;
  /** Sets the execution ARN of the claimed execution `name`. */
  setArn(mode: TriggerRecord['mode'], clusterId: string | null, name: string, arn: string): Promise<void>;
  /** Removes the claim of `name` (its execution could not be started). */
  release(mode: TriggerRecord['mode'], clusterId: string | null, name: string): Promise<void>;
}

const sortKey = (mode: string, clusterId: string | null): string => `${mode}#${clusterId ?? '*'}`;

/** DynamoDB adapter of {@link TriggerStore} on the SyncState table. */
export class DynamoDbTriggerStore implements TriggerStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(mode: TriggerRecord['mode'], clusterId: string | null): Promise<TriggerRecord | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: TRIGGER_PARTITION, sk: sortKey(mode, clusterId) },
        ConsistentRead: true,
      }),
    );
    return result.Item ? parseItem(TriggerRecordSchema, result.Item, `${this.tableName} trigger`) : null;
  }

  async claim(record: TriggerRecord, previousName: string | null): Promise<ClaimResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: TRIGGER_PARTITION,
            sk: sortKey(record.mode, record.cluster_id),
            ...record,
            expires_at: Math.ceil(record.started_at / 1000) + CLEANUP_AFTER_S,
          },
          ConditionExpression:
            previousName === null ? 'attribute_not_exists(pk)' : 'execution_name = :previous',
          ...(previousName === null ? {} : { ExpressionAttributeValues: { ':previous': previousName } }),
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { claimed: false, current: await this.get(record.mode, record.cluster_id) };
  }

  async setArn(
    mode: TriggerRecord['mode'],
    clusterId: string | null,
    name: string,
    arn: string,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: TRIGGER_PARTITION, sk: sortKey(mode, clusterId) },
          UpdateExpression: 'SET execution_arn = :arn',
          ConditionExpression: 'execution_name = :name',
          ExpressionAttributeValues: { ':arn': arn, ':name': name },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async release(mode: TriggerRecord['mode'], clusterId: string | null, name: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: TRIGGER_PARTITION, sk: sortKey(mode, clusterId) },
          ConditionExpression: 'execution_name = :name',
          ExpressionAttributeValues: { ':name': name },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

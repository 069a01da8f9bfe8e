import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { isConditionalCheckFailed, parseItem } from '#shared/store/dynamodb/helpers.ts';
import { syncStateKeys } from '#shared/store/table-design.ts';

/**
 * The refresh coordination record of a cluster, kept in the SyncState table beside the cluster's
 * leases (`pk = CLUSTER#<id>`, `sk = REFRESH`). Conditional writes on it make the refresh rules
 * hold across Lambda instances: one refresh at a time per cluster (others join it) and at most one
 * start per interval. `expires_at` only lets TTL clean old records up; conditions never rely on it.
 */

/** Sort key of the refresh record in the cluster's SyncState partition. */
export const REFRESH_SORT_KEY = 'REFRESH';

/** Old refresh records are removed by TTL a day after they finished (cleanup only). */
const CLEANUP_AFTER_S = 24 * 3600;

const epochMs = z.number().int().nonnegative();

/** A refresh record as stored. */
export const RefreshRecordSchema = z.object({
  cluster_id: z.string().min(1),
  state: z.enum(['running', 'done', 'failed']),
  /** unique per refresh attempt */
  owner: z.string().min(1),
  started_at: epochMs,
  finished_at: epochMs.nullable().default(null),
  /** the guests whose addresses the refresh re-reads (a live list's small scope), sorted */
  vmids: z.array(z.number().int()).default([]),
  /** set when it ended: whether every one of `vmids` had its address read in time */
  details_done: z.boolean().default(false),
});
export type RefreshRecord = z.infer<typeof RefreshRecordSchema>;

/** Input of {@link RefreshStore.tryStart}. */
export interface TryStartInput {
  readonly clusterId: string;
  readonly owner: string;
  /** the guests whose addresses this refresh re-reads (none: status only) */
  readonly vmids?: readonly number[];
  readonly nowMs: number;
  /** a refresh may start only this long after the previous one started */
  readonly minIntervalMs: number;
  /** a refresh still `running` after this long is taken as crashed and replaced */
  readonly runningTimeoutMs: number;
}

export type TryStartResult =
  | { readonly started: true; readonly record: RefreshRecord }
  /** `current` is null only if the record vanished between the refused write and the read */
  | { readonly started: false; readonly current: RefreshRecord | null };

/** Port of the refresh coordination records. */
export interface RefreshStore {
  /** Starts a refresh unless one runs or one started less than `minIntervalMs` ago. */
  tryStart(input: TryStartInput): Promise<TryStartResult>;
  /**
   * Ends the refresh `owner` started (no effect if another one replaced it); `detailsDone`: every
   * guest of its `vmids` had its address read.
   */
  finish(
    clusterId: string,
    owner: string,
    state: 'done' | 'failed',
    nowMs: number,
    detailsDone?: boolean,
  ): Promise<boolean>;
  get(clusterId: string): Promise<RefreshRecord | null>;
}

/** DynamoDB adapter of {@link RefreshStore} on the SyncState table. */
export class DynamoDbRefreshStore implements RefreshStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(clusterId: string): { pk: string; sk: string } {
    return { pk: syncStateKeys.clusterPartition(clusterId), sk: REFRESH_SORT_KEY };
  }

  async tryStart(input: TryStartInput): Promise<TryStartResult> {
    const record: RefreshRecord = {
      cluster_id: input.clusterId,
      state: 'running',
      owner: input.owner,
      started_at: input.nowMs,
      finished_at: null,
      vmids: [...(input.vmids ?? [])].sort((a, b) => a - b),
      details_done: false,
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(input.clusterId),
            ...record,
            expires_at: Math.ceil(input.nowMs / 1000) + CLEANUP_AFTER_S,
          },
          // Free; or the last one ended and started long enough ago; or it crashed while running.
          ConditionExpression:
            'attribute_not_exists(pk) OR (#state <> :running AND started_at <= :intervalAgo) OR started_at < :runningExpired',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':intervalAgo': input.nowMs - input.minIntervalMs,
            ':runningExpired': input.nowMs - input.runningTimeoutMs,
          },
        }),
      );
      return { started: true, record };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { started: false, current: await this.get(input.clusterId) };
  }

  async finish(
    clusterId: string,
    owner: string,
    state: 'done' | 'failed',
    nowMs: number,
    detailsDone = false,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(clusterId),
          UpdateExpression: 'SET #state = :state, finished_at = :now, details_done = :details',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':state': state,
            ':now': nowMs,
            ':owner': owner,
            ':details': detailsDone,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async get(clusterId: string): Promise<RefreshRecord | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(clusterId), ConsistentRead: true }),
    );
    return result.Item
      ? parseItem(RefreshRecordSchema, result.Item, `${this.tableName} refresh ${clusterId}`)
      : null;
  }
}

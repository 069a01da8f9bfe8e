import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { VmKeySchema } from '#shared/domain/vm-record.ts';
import type { LiveConnection, LiveLogEntry, LiveStore } from '#shared/live/ports.ts';
import { LiveRuntimeTupleSchema, type LiveVersions, LiveVmChangeSchema } from '#shared/live/protocol.ts';
import { liveKeys } from '../table-design.ts';
import { isConditionalCheckFailed, parseItem } from './helpers.ts';

const epochMs = z.number().int().nonnegative();

const ConnectionItemSchema = z.object({
  connection_id: z.string().min(1),
  username: z.string().min(1),
  admin: z.boolean(),
  teacher: z.boolean(),
  token_expires_at: epochMs,
  connected_at: epochMs,
});

const LogItemSchema = z.object({
  cluster_id: z.string().min(1),
  version: z.number().int().positive(),
  at: epochMs,
  vms: z.array(LiveVmChangeSchema).default([]),
  removed: z.array(VmKeySchema).default([]),
  runtime: z.array(LiveRuntimeTupleSchema).default([]),
  ownership: z.boolean().default(false),
  ownership_users: z.array(z.string()).nullable().default(null),
  too_large: z.boolean().default(false),
});

const VersionItemSchema = z.object({ sk: z.string().min(1), version: z.number().int().nonnegative() });

/** Settings of {@link DynamoDbLiveStore}. */
export interface LiveStoreOptions {
  /** How long log entries are kept (TTL). @default 1 hour */
  readonly logTtlMs?: number;
  /** Longest a connection item lives (API Gateway closes connections after 2 hours). @default 2 hours */
  readonly connectionTtlMs?: number;
  readonly now?: () => number;
}

/** DynamoDB adapter of {@link LiveStore} on the `LiveConnections` table. */
export class DynamoDbLiveStore implements LiveStore {
  private readonly logTtlMs: number;
  private readonly connectionTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: LiveStoreOptions = {},
  ) {
    this.logTtlMs = options.logTtlMs ?? 3_600_000;
    this.connectionTtlMs = options.connectionTtlMs ?? 7_200_000;
    this.now = options.now ?? Date.now;
  }

  async putConnection(connection: LiveConnection): Promise<void> {
    const parsed = ConnectionItemSchema.parse(connection);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...liveKeys.connection(parsed.connection_id),
          ...parsed,
          expires_at: Math.ceil((parsed.connected_at + this.connectionTtlMs) / 1000),
        },
      }),
    );
  }

  async getConnection(connectionId: string): Promise<LiveConnection | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: liveKeys.connection(connectionId),
        ConsistentRead: true,
      }),
    );
    return result.Item
      ? parseItem(ConnectionItemSchema, result.Item, `${this.tableName} ${connectionId}`)
      : null;
  }

  async updateTokenExpiry(connectionId: string, tokenExpiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: liveKeys.connection(connectionId),
          UpdateExpression: 'SET token_expires_at = :t',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':t': epochMs.parse(tokenExpiresAt) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async deleteConnection(connectionId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: liveKeys.connection(connectionId) }),
    );
  }

  async listConnections(): Promise<LiveConnection[]> {
    const items = await this.queryAll(liveKeys.connectionsPartition);
    return items.map((item) => parseItem(ConnectionItemSchema, item, `${this.tableName} connection`));
  }

  async nextVersion(clusterId: string): Promise<number> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: liveKeys.version(clusterId),
        UpdateExpression: 'ADD #v :one',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return z.object({ version: z.number().int().positive() }).parse(result.Attributes).version;
  }

  async readVersions(): Promise<LiveVersions> {
    const items = await this.queryAll(liveKeys.versionsPartition);
    const versions: LiveVersions = {};
    for (const item of items) {
      const parsed = parseItem(VersionItemSchema, item, `${this.tableName} version`);
      versions[parsed.sk] = parsed.version;
    }
    return versions;
  }

  async appendLog(entry: LiveLogEntry): Promise<void> {
    const parsed = LogItemSchema.parse(entry);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: liveKeys.logPartition(parsed.cluster_id),
          sk: liveKeys.logSortKey(parsed.version),
          ...parsed,
          expires_at: Math.ceil((this.now() + this.logTtlMs) / 1000),
        },
      }),
    );
  }

  async readLog(clusterId: string, afterVersion: number, limit: number): Promise<LiveLogEntry[]> {
    const cutoff = this.now() - this.logTtlMs;
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk > :after',
        ExpressionAttributeValues: {
          ':pk': liveKeys.logPartition(clusterId),
          ':after': liveKeys.logSortKey(afterVersion),
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    // TTL deletes late: an entry past its lifetime counts as gone, so a resume never depends on it.
    return (result.Items ?? [])
      .map((item) => parseItem(LogItemSchema, item, `${this.tableName} log ${clusterId}`))
      .filter((entry) => entry.at >= cutoff);
  }

  private async queryAll(partition: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': partition },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }
}

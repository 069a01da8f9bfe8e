import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ClusterRuntime,
  chunkRuntimeStats,
  mergeRuntimeChunks,
  type RuntimeChunk,
  RuntimeChunkSchema,
} from '#shared/domain/runtime-stats.ts';
import {
  type ClusterState,
  type ClusterStateInput,
  ClusterStateSchema,
  type GlobalRunStats,
  GlobalRunStatsSchema,
  type Lease,
  type LeaseKind,
  LeaseKindSchema,
  LeaseSchema,
} from '#shared/domain/sync-state.ts';
import { newVersionToken, VersionItemSchema } from '#shared/domain/versions.ts';
import {
  type AcquireLeaseInput,
  type LeaseResult,
  type ReadVersions,
  STATE_ITEM_LEASE_KINDS,
  type SyncStateRepository,
  type WriteNodeRuntimeInput,
  type WriteReport,
} from '../ports.ts';
import { syncStateKeys } from '../table-design.ts';
import {
  batchGetAll,
  batchWriteAll,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type WriteRequest,
} from './batch-operations.ts';
import { isConditionalCheckFailed, parseItem, singleWrite } from './helpers.ts';

/** The state item attribute that holds a lease of a {@link STATE_ITEM_LEASE_KINDS} kind. */
function stateLeaseAttribute(kind: LeaseKind): string {
  return `${kind}_lease`;
}

/** Lease items are removed by TTL a day after they expire: cleanup only, the condition decides. */
const LEASE_CLEANUP_AFTER_S = 24 * 3600;

export interface SyncStateRepositoryOptions {
  retryPolicy?: RetryPolicy;
  /** clock for lease expiry (epoch ms) */
  now?: () => number;
}

function isClusterStateAttribute(name: string): name is keyof ClusterState {
  return Object.hasOwn(ClusterStateSchema.shape, name);
}

/** DynamoDB adapter of {@link SyncStateRepository}. */
export class DynamoDbSyncStateRepository implements SyncStateRepository {
  private readonly retryPolicy: RetryPolicy;
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: SyncStateRepositoryOptions = {},
  ) {
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.now = options.now ?? Date.now;
  }

  async getClusterState(clusterId: string): Promise<ClusterState | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: syncStateKeys.clusterState(clusterId),
        ConsistentRead: true,
      }),
    );
    return result.Item
      ? parseItem(ClusterStateSchema, result.Item, `${this.tableName} state ${clusterId}`)
      : null;
  }

  async listClusterStates(): Promise<ClusterState[]> {
    return (await this.readVersions()).states;
  }

  async readVersions(): Promise<ReadVersions> {
    const items = await this.queryAll('pk = :pk', { ':pk': syncStateKeys.clusterStatePartition });
    const states: ClusterState[] = [];
    let ownershipVersion: string | null = null;
    for (const item of items) {
      if (item.sk === syncStateKeys.ownershipVersion.sk) {
        ownershipVersion = parseItem(VersionItemSchema, item, `${this.tableName} ownership version`).version;
      } else if (!syncStateKeys.isVersionSortKey(String(item.sk))) {
        states.push(parseItem(ClusterStateSchema, item, `${this.tableName} state ${String(item.sk)}`));
      }
    }
    return { states, ownershipVersion };
  }

  async bumpInventoryVersion(clusterId: string): Promise<WriteReport> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: syncStateKeys.clusterState(clusterId),
        UpdateExpression: 'SET cluster_id = :cluster_id, inventory_version = :v',
        ExpressionAttributeValues: { ':cluster_id': clusterId, ':v': newVersionToken() },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async bumpOwnershipVersion(): Promise<WriteReport> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: syncStateKeys.ownershipVersion,
        UpdateExpression: 'SET version = :v',
        ExpressionAttributeValues: { ':v': newVersionToken() },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async putClusterState(state: ClusterStateInput): Promise<WriteReport> {
    const parsed = ClusterStateSchema.parse(state);
    const result = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...syncStateKeys.clusterState(parsed.cluster_id), ...parsed },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async updateClusterState(
    clusterId: string,
    patch: Partial<Omit<ClusterStateInput, 'cluster_id'>>,
    options: { releaseLease?: { kind: LeaseKind; owner: string } } = {},
  ): Promise<WriteReport & { leaseReleased: boolean }> {
    const names: Record<string, string> = { '#cluster_id': 'cluster_id' };
    const values: Record<string, unknown> = { ':cluster_id': clusterId };
    const assignments = ['#cluster_id = :cluster_id'];
    let index = 0;
    for (const [attribute, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (!isClusterStateAttribute(attribute) || attribute === 'cluster_id') {
        throw new RangeError(`not a cluster state attribute: ${attribute}`);
      }
      // Each attribute is validated on its own: parsing the partial object would fill defaults in.
      names[`#a${index}`] = attribute;
      values[`:v${index}`] = ClusterStateSchema.shape[attribute].parse(value);
      assignments.push(`#a${index} = :v${index}`);
      index++;
    }
    const set = (release: boolean) =>
      new UpdateCommand({
        TableName: this.tableName,
        Key: syncStateKeys.clusterState(clusterId),
        UpdateExpression: `SET ${assignments.join(', ')}${release ? ' REMOVE #lease' : ''}`,
        ...(release && options.releaseLease
          ? {
              ConditionExpression: '#lease.#owner = :owner',
              ExpressionAttributeNames: {
                ...names,
                '#lease': stateLeaseAttribute(options.releaseLease.kind),
                '#owner': 'owner',
              },
              ExpressionAttributeValues: { ...values, ':owner': options.releaseLease.owner },
            }
          : { ExpressionAttributeNames: names, ExpressionAttributeValues: values }),
        ReturnConsumedCapacity: 'TOTAL',
      });
    const release =
      options.releaseLease !== undefined && STATE_ITEM_LEASE_KINDS.has(options.releaseLease.kind);
    if (release) {
      try {
        const result = await this.client.send(set(true));
        return { ...singleWrite(result.ConsumedCapacity), leaseReleased: true };
      } catch (error) {
        // The lease expired and another run took it: the state is written, its lease left alone.
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    const result = await this.client.send(set(false));
    return { ...singleWrite(result.ConsumedCapacity), leaseReleased: false };
  }

  async readRuntime(clusterId: string, options: { nodes?: readonly string[] } = {}): Promise<ClusterRuntime> {
    const prefixes =
      options.nodes === undefined
        ? [syncStateKeys.runtimePrefix()]
        : [...new Set(options.nodes)].map((node) => syncStateKeys.runtimePrefix(node));
    const pages = await Promise.all(
      prefixes.map((prefix) =>
        this.queryAll('pk = :pk AND begins_with(sk, :prefix)', {
          ':pk': syncStateKeys.clusterPartition(clusterId),
          ':prefix': prefix,
        }),
      ),
    );
    const items = pages.flat();
    return mergeRuntimeChunks(
      items.map((item) => parseItem(RuntimeChunkSchema, item, `${this.tableName} ${String(item.sk)}`)),
    );
  }

  async readNodeRuntimes(
    nodes: readonly { clusterId: string; node: string }[],
  ): Promise<Map<string, ClusterRuntime>> {
    const unique = new Map(nodes.map((entry) => [`${entry.clusterId}#${entry.node}`, entry]));
    const firstChunks = (
      await batchGetAll(
        this.client,
        this.tableName,
        [...unique.values()].map(({ clusterId, node }) => syncStateKeys.runtime(clusterId, node, 0)),
        {},
        this.retryPolicy,
      )
    ).map((item) => parseItem(RuntimeChunkSchema, item, `${this.tableName} ${String(item.sk)}`));
    const byCluster = new Map<string, RuntimeChunk[]>();
    const incomplete: { clusterId: string; node: string }[] = [];
    for (const chunk of firstChunks) {
      if (chunk.chunk_count > 1) incomplete.push({ clusterId: chunk.cluster_id, node: chunk.node });
      else byCluster.set(chunk.cluster_id, [...(byCluster.get(chunk.cluster_id) ?? []), chunk]);
    }
    const result = new Map<string, ClusterRuntime>();
    for (const [clusterId, chunks] of byCluster) result.set(clusterId, mergeRuntimeChunks(chunks));
    // Nodes of more than one chunk (thousands of guests) are rare: their whole set is read.
    await Promise.all(
      incomplete.map(async ({ clusterId, node }) => {
        const runtime = await this.readRuntime(clusterId, { nodes: [node] });
        const merged = result.get(clusterId) ?? new Map();
        for (const [name, value] of runtime) merged.set(name, value);
        result.set(clusterId, merged);
      }),
    );
    return result;
  }

  async writeNodeRuntime(input: WriteNodeRuntimeInput): Promise<WriteReport> {
    const chunks = chunkRuntimeStats(input.stats);
    const requests: WriteRequest[] = chunks.map((stats, chunk) => ({
      PutRequest: {
        Item: {
          ...syncStateKeys.runtime(input.clusterId, input.node, chunk),
          cluster_id: input.clusterId,
          node: input.node,
          chunk,
          chunk_count: chunks.length,
          observed_at: input.observedAt,
          stats,
        },
      },
    }));
    // Leftover chunks of a larger previous set are ignored by readers; delete them to keep it tidy.
    for (let chunk = chunks.length; chunk < (input.previousChunkCount ?? 0); chunk++) {
      requests.push({ DeleteRequest: { Key: syncStateKeys.runtime(input.clusterId, input.node, chunk) } });
    }
    return batchWriteAll(this.client, this.tableName, requests, this.retryPolicy);
  }

  async deleteNodeRuntime(clusterId: string, node: string): Promise<WriteReport> {
    const items = await this.queryAll(
      'pk = :pk AND begins_with(sk, :prefix)',
      { ':pk': syncStateKeys.clusterPartition(clusterId), ':prefix': syncStateKeys.runtimePrefix(node) },
      'pk, sk',
    );
    return batchWriteAll(
      this.client,
      this.tableName,
      items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
      this.retryPolicy,
    );
  }

  async acquireLease(input: AcquireLeaseInput): Promise<LeaseResult> {
    const kind = LeaseKindSchema.parse(input.kind);
    const now = input.nowMs ?? this.now();
    const lease: Lease = {
      cluster_id: input.clusterId,
      kind,
      owner: input.owner,
      acquired_at: now,
      lease_expires_at: now + input.ttlMs,
    };
    if (STATE_ITEM_LEASE_KINDS.has(kind)) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: syncStateKeys.clusterState(input.clusterId),
            UpdateExpression: 'SET cluster_id = :cluster_id, #lease = :lease',
            // Free, expired, or renewed by its holder: the same rule as a lease item's.
            ConditionExpression:
              'attribute_not_exists(#lease) OR #lease.lease_expires_at < :now OR #lease.#owner = :owner',
            ExpressionAttributeNames: { '#lease': stateLeaseAttribute(kind), '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':cluster_id': input.clusterId,
              ':lease': {
                owner: lease.owner,
                acquired_at: lease.acquired_at,
                lease_expires_at: lease.lease_expires_at,
              },
              ':now': now,
              ':owner': input.owner,
            },
          }),
        );
        return { acquired: true, lease };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      return { acquired: false, holder: await this.getLease(input.clusterId, kind) };
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...syncStateKeys.lease(input.clusterId, kind),
            ...lease,
            expires_at: Math.ceil(lease.lease_expires_at / 1000) + LEASE_CLEANUP_AFTER_S,
          },
          // Free, expired (by its own attribute, never by TTL), or renewed by its holder.
          ConditionExpression: 'attribute_not_exists(pk) OR lease_expires_at < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': input.owner },
        }),
      );
      return { acquired: true, lease };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return { acquired: false, holder: await this.getLease(input.clusterId, kind) };
  }

  async releaseLease(clusterId: string, kind: LeaseKind, owner: string): Promise<boolean> {
    if (STATE_ITEM_LEASE_KINDS.has(LeaseKindSchema.parse(kind))) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: syncStateKeys.clusterState(clusterId),
            UpdateExpression: 'REMOVE #lease',
            ConditionExpression: '#lease.#owner = :owner',
            ExpressionAttributeNames: { '#lease': stateLeaseAttribute(kind), '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionalCheckFailed(error)) return false;
        throw error;
      }
    }
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: syncStateKeys.lease(clusterId, LeaseKindSchema.parse(kind)),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async recordLeaseProgress(
    clusterId: string,
    kind: LeaseKind,
    owner: string,
    progress: { done: number; total: number; at: number },
  ): Promise<boolean> {
    const onState = STATE_ITEM_LEASE_KINDS.has(LeaseKindSchema.parse(kind));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: onState ? syncStateKeys.clusterState(clusterId) : syncStateKeys.lease(clusterId, kind),
          UpdateExpression: onState ? 'SET #lease.progress = :p' : 'SET progress = :p',
          ConditionExpression: onState ? '#lease.#owner = :owner' : '#owner = :owner',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            ...(onState ? { '#lease': stateLeaseAttribute(kind) } : {}),
          },
          ExpressionAttributeValues: { ':p': progress, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async getLease(clusterId: string, kind: LeaseKind): Promise<Lease | null> {
    if (STATE_ITEM_LEASE_KINDS.has(LeaseKindSchema.parse(kind))) {
      const state = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: syncStateKeys.clusterState(clusterId),
          ProjectionExpression: '#lease',
          ExpressionAttributeNames: { '#lease': stateLeaseAttribute(kind) },
          ConsistentRead: true,
        }),
      );
      const held: unknown = state.Item?.[stateLeaseAttribute(kind)];
      if (held === undefined) return null;
      return parseItem(
        LeaseSchema,
        { ...(held as Record<string, unknown>), cluster_id: clusterId, kind },
        `${this.tableName} state ${clusterId} ${stateLeaseAttribute(kind)}`,
      );
    }
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: syncStateKeys.lease(clusterId, kind),
        ConsistentRead: true,
      }),
    );
    return result.Item
      ? parseItem(LeaseSchema, result.Item, `${this.tableName} lease ${clusterId}/${kind}`)
      : null;
  }

  async putGlobalRunStats(stats: GlobalRunStats): Promise<WriteReport> {
    const parsed = GlobalRunStatsSchema.parse(stats);
    const result = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...syncStateKeys.globalRun(parsed.mode), ...parsed },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return singleWrite(result.ConsumedCapacity);
  }

  async getGlobalRunStats(mode: GlobalRunStats['mode']): Promise<GlobalRunStats | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: syncStateKeys.globalRun(mode) }),
    );
    return result.Item ? parseItem(GlobalRunStatsSchema, result.Item, `${this.tableName} run ${mode}`) : null;
  }

  private async queryAll(
    keyCondition: string,
    values: Record<string, unknown>,
    projection?: string,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeValues: values,
          ProjectionExpression: projection,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  decodeRuntimePack,
  mergePackedSections,
  newestSetChunks,
  type PackedNodeSection,
  packClusterRuntime,
  type RuntimeSetItem,
  RuntimeSetItemSchema,
} from '#shared/domain/runtime-pack.ts';
import {
  type ClusterRuntime,
  mergeRuntimeChunks,
  nextRuntimeSet,
  nextRuntimeSetTime,
  RUNTIME_CHUNK_MAX_ENTRIES,
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
  type StoredRuntimeSet,
  type SyncStateRepository,
  type WriteNodeRuntimeInput,
  type WriteReport,
  type WriteRuntimeSetInput,
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
  /** samples per runtime set chunk (default {@link RUNTIME_CHUNK_MAX_ENTRIES}) */
  runtimeChunkMaxEntries?: number;
  /**
   * Told about a runtime item that cannot be read (it is left out: its guests show no CPU and
   * memory use until the next write replaces it). Default: an error line on the console.
   */
  onUnreadableRuntime?: (detail: { item: string; error: string }) => void;
}

function logUnreadableRuntime(detail: { item: string; error: string }): void {
  console.error(JSON.stringify({ level: 'ERROR', message: 'unreadable runtime item left out', ...detail }));
}

function isClusterStateAttribute(name: string): name is keyof ClusterState {
  return Object.hasOwn(ClusterStateSchema.shape, name);
}

/** DynamoDB adapter of {@link SyncStateRepository}. */
export class DynamoDbSyncStateRepository implements SyncStateRepository {
  private readonly retryPolicy: RetryPolicy;
  private readonly now: () => number;
  private readonly runtimeChunkMaxEntries: number;
  private readonly onUnreadableRuntime: (detail: { item: string; error: string }) => void;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: SyncStateRepositoryOptions = {},
  ) {
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.now = options.now ?? Date.now;
    this.runtimeChunkMaxEntries = options.runtimeChunkMaxEntries ?? RUNTIME_CHUNK_MAX_ENTRIES;
    this.onUnreadableRuntime = options.onUnreadableRuntime ?? logUnreadableRuntime;
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

  /** Parses runtime set items; unreadable ones are reported and left out. */
  private runtimeSetItems(items: readonly Record<string, unknown>[]): RuntimeSetItem[] {
    const parsed: RuntimeSetItem[] = [];
    for (const item of items) {
      const result = RuntimeSetItemSchema.safeParse(item);
      if (result.success) parsed.push(result.data);
      else this.reportUnreadable(item, result.error.issues[0]?.message ?? 'invalid');
    }
    return parsed;
  }

  private reportUnreadable(item: Record<string, unknown>, error: string): void {
    this.onUnreadableRuntime({ item: `${this.tableName} ${String(item.pk)} ${String(item.sk)}`, error });
  }

  /** The newest set among a cluster's chunks, decoded (an undecodable chunk is reported and left out). */
  private decodeSet(items: readonly RuntimeSetItem[]): {
    runtime: ClusterRuntime;
    observedAt: number | null;
    chunkCount: number;
  } {
    const chunks = newestSetChunks(items);
    const sections: PackedNodeSection[] = [];
    for (const chunk of chunks) {
      try {
        sections.push(...decodeRuntimePack(chunk.packed));
      } catch (error) {
        this.reportUnreadable(
          { ...syncStateKeys.runtimeSet(chunk.cluster_id, chunk.chunk) },
          error instanceof Error ? error.message : String(error),
        );
      }
    }
    const first = chunks[0];
    return {
      runtime: mergePackedSections(sections),
      observedAt: first?.observed_at ?? null,
      chunkCount: first?.chunk_count ?? 0,
    };
  }

  private async queryRuntimeSet(clusterId: string): Promise<RuntimeSetItem[]> {
    return this.runtimeSetItems(
      await this.queryAll('pk = :pk AND begins_with(sk, :prefix)', {
        ':pk': syncStateKeys.clusterPartition(clusterId),
        ':prefix': syncStateKeys.runtimeSetPrefix,
      }),
    );
  }

  async readRuntime(clusterId: string, options: { nodes?: readonly string[] } = {}): Promise<ClusterRuntime> {
    const { runtime } = this.decodeSet(await this.queryRuntimeSet(clusterId));
    if (options.nodes === undefined) return runtime;
    const wanted = new Set(options.nodes);
    return new Map([...runtime].filter(([node]) => wanted.has(node)));
  }

  async readRuntimeSet(clusterId: string): Promise<StoredRuntimeSet> {
    // One Query reads the set and any item of the previous per-node format ('RUNTIME#…').
    const items = await this.queryAll('pk = :pk AND begins_with(sk, :prefix)', {
      ':pk': syncStateKeys.clusterPartition(clusterId),
      ':prefix': 'RUNTIME',
    });
    const setItems: Record<string, unknown>[] = [];
    const legacyItems: Record<string, unknown>[] = [];
    for (const item of items) {
      const sk = String(item.sk);
      if (sk.startsWith(syncStateKeys.runtimeSetPrefix)) setItems.push(item);
      else if (sk.startsWith(syncStateKeys.runtimePrefix())) legacyItems.push(item);
    }
    const set = this.decodeSet(this.runtimeSetItems(setItems));
    const legacyKeys = legacyItems.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
    if (set.observedAt !== null || legacyItems.length === 0) return { ...set, legacyKeys };
    // Before the first write of a set: the per-node items stand in (the pass compares against them
    // and its times follow theirs), and that write deletes them.
    const legacy = [];
    for (const item of legacyItems) {
      const parsed = RuntimeChunkSchema.safeParse(item);
      if (parsed.success) legacy.push(parsed.data);
      else this.reportUnreadable(item, parsed.error.issues[0]?.message ?? 'invalid');
    }
    return { runtime: mergeRuntimeChunks(legacy), observedAt: null, chunkCount: 0, legacyKeys };
  }

  async readNodeRuntimes(
    nodes: readonly { clusterId: string; node: string }[],
  ): Promise<Map<string, ClusterRuntime>> {
    const wanted = new Map<string, Set<string>>();
    for (const { clusterId, node } of nodes)
      wanted.set(clusterId, (wanted.get(clusterId) ?? new Set()).add(node));
    const firstChunks = this.runtimeSetItems(
      await batchGetAll(
        this.client,
        this.tableName,
        [...wanted.keys()].map((clusterId) => syncStateKeys.runtimeSet(clusterId, 0)),
        {},
        this.retryPolicy,
      ),
    );
    const result = new Map<string, ClusterRuntime>();
    // Clusters of more than one chunk (thousands of guests) are rare: their whole set is read.
    await Promise.all(
      firstChunks.map(async (first) => {
        const items = first.chunk_count > 1 ? await this.queryRuntimeSet(first.cluster_id) : [first];
        const { runtime } = this.decodeSet(items);
        const names = wanted.get(first.cluster_id) ?? new Set<string>();
        result.set(first.cluster_id, new Map([...runtime].filter(([node]) => names.has(node))));
      }),
    );
    return result;
  }

  async writeRuntimeSet(input: WriteRuntimeSetInput): Promise<WriteReport> {
    const packs = packClusterRuntime(input.runtime, this.runtimeChunkMaxEntries);
    const requests: WriteRequest[] = packs.map((packed, chunk) => ({
      PutRequest: {
        Item: {
          ...syncStateKeys.runtimeSet(input.clusterId, chunk),
          cluster_id: input.clusterId,
          chunk,
          chunk_count: packs.length,
          observed_at: input.observedAt,
          packed,
        },
      },
    }));
    // Leftover chunks of a larger previous set are ignored by readers; delete them to keep it tidy.
    for (let chunk = packs.length; chunk < input.previous.chunkCount; chunk++) {
      requests.push({ DeleteRequest: { Key: syncStateKeys.runtimeSet(input.clusterId, chunk) } });
    }
    for (const key of input.previous.legacyKeys) requests.push({ DeleteRequest: { Key: key } });
    return batchWriteAll(this.client, this.tableName, requests, this.retryPolicy);
  }

  async writeNodeRuntime(input: WriteNodeRuntimeInput): Promise<WriteReport> {
    const previous = await this.readRuntimeSet(input.clusterId);
    // The node's time, like the set's, never repeats (the read cache holds a node's samples by it).
    const observedAt = nextRuntimeSetTime(input.observedAt, previous.runtime.get(input.node)?.observed_at);
    const runtime = nextRuntimeSet(previous.runtime, [{ ...input, observedAt }], []) ?? previous.runtime;
    return this.writeRuntimeSet({
      clusterId: input.clusterId,
      runtime,
      observedAt: nextRuntimeSetTime(input.observedAt, previous.observedAt),
      previous,
    });
  }

  async deleteNodeRuntime(clusterId: string, node: string): Promise<WriteReport> {
    const previous = await this.readRuntimeSet(clusterId);
    if (!previous.runtime.has(node) && previous.legacyKeys.length === 0)
      return { writes: 0, capacityUnits: 0 };
    const runtime = nextRuntimeSet(previous.runtime, [], [node]) ?? previous.runtime;
    return this.writeRuntimeSet({
      clusterId,
      runtime,
      observedAt: nextRuntimeSetTime(this.now(), previous.observedAt),
      previous,
    });
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

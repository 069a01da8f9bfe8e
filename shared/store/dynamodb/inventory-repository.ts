import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type NewStoredVm,
  PendingActionSchema,
  type StoredPending,
  type StoredVm,
  type StoredVmAttributes,
  StoredVmAttributesSchema,
  StoredVmSchema,
  type VmKey,
} from '#shared/domain/vm-record.ts';
import type {
  ErrorVmSummary,
  GuardedWriteResult,
  InventoryRepository,
  ListVmsOptions,
  PendingRequest,
  SetPendingResult,
  VmChange,
  VmPage,
  VmRemoval,
  WriteReport,
} from '../ports.ts';
import { INVENTORY_ERRORS_INDEX } from '../table-design.ts';
import { batchGetAll, batchWriteAll, DEFAULT_RETRY_POLICY, type RetryPolicy } from './batch-operations.ts';
import { decodeCursor, encodeCursor, VmCursorSchema } from './cursor.ts';
import { InvalidCursorError, PendingContentionError } from './errors.ts';
import {
  isConditionalCheckFailed,
  mapWithConcurrency,
  parseItem,
  singleWrite,
  type sumCapacity,
} from './helpers.ts';

/** Default page size of a cluster listing. */
export const DEFAULT_VM_PAGE_SIZE = 1000;
/** Single-item writes in flight at once. */
const WRITE_CONCURRENCY = 16;
/** A pending action younger than this blocks a new one (the API's 120 s expiry). */
const DEFAULT_PENDING_EXPIRY_MS = 120_000;

/**
 * The write guard of observations (README "Write guard"): an observation that started at `:obs`
 * may write a VM only if no newer observation wrote it and no user action was recorded after it
 * started. Equal times pass, so a retried write of the same observation is idempotent.
 */
const OBSERVATION_GUARD =
  'attribute_exists(vmid) AND observed_at <= :obs AND (attribute_not_exists(pending_since) OR pending_since <= :obs)';

export interface InventoryRepositoryOptions {
  retryPolicy?: RetryPolicy;
}

type Keyed = { key: VmKey };

/** Stored form of a new item: defaults applied, plus the sparse errors-index attribute. */
function toItem(vm: NewStoredVm): Record<string, unknown> {
  const parsed = StoredVmSchema.parse(vm);
  return parsed.sync_error === null ? parsed : { ...parsed, error_cluster_id: parsed.cluster_id };
}

/** DynamoDB adapter of {@link InventoryRepository}. */
export class DynamoDbInventoryRepository implements InventoryRepository {
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: InventoryRepositoryOptions = {},
  ) {
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  }

  async listClusterVms(clusterId: string, options: ListVmsOptions = {}): Promise<VmPage> {
    const limit = options.limit ?? DEFAULT_VM_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    let startKey: Record<string, unknown> | undefined;
    if (options.cursor) {
      const decoded = decodeCursor(options.cursor, VmCursorSchema);
      if (decoded.cluster_id !== clusterId) throw new InvalidCursorError('cursor belongs to another cluster');
      startKey = decoded;
    } else if (options.startAfterVmid !== undefined && options.startAfterVmid !== null) {
      startKey = { cluster_id: clusterId, vmid: options.startAfterVmid };
    }
    const items: StoredVm[] = [];
    // Query stops at 1 MB or `Limit` items: keep going until the page is full or the cluster ends.
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'cluster_id = :c',
          ExpressionAttributeValues: { ':c': clusterId },
          ExclusiveStartKey: startKey,
          Limit: limit - items.length,
          ConsistentRead: options.consistentRead ?? false,
        }),
      );
      for (const item of result.Items ?? []) items.push(this.parse(item));
      startKey = result.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return { items, cursor: startKey ? encodeCursor({ cluster_id: clusterId, vmid: startKey.vmid }) : null };
  }

  async listAllClusterVms(
    clusterId: string,
    options: { consistentRead?: boolean } = {},
  ): Promise<StoredVm[]> {
    const all: StoredVm[] = [];
    let cursor: string | null = null;
    do {
      const page: VmPage = await this.listClusterVms(clusterId, { ...options, cursor, limit: 5000 });
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return all;
  }

  async getVm(key: VmKey, options: { consistentRead?: boolean } = {}): Promise<StoredVm | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: options.consistentRead ?? false,
      }),
    );
    return result.Item ? this.parse(result.Item) : null;
  }

  async getVms(keys: readonly VmKey[], options: { consistentRead?: boolean } = {}): Promise<StoredVm[]> {
    const unique = new Map<string, VmKey>();
    for (const key of keys)
      unique.set(`${key.cluster_id}#${key.vmid}`, { cluster_id: key.cluster_id, vmid: key.vmid });
    const items = await batchGetAll(
      this.client,
      this.tableName,
      [...unique.values()],
      options,
      this.retryPolicy,
    );
    return items.map((item) => this.parse(item));
  }

  async listErrorVms(clusterId: string): Promise<ErrorVmSummary[]> {
    const summaries: ErrorVmSummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INVENTORY_ERRORS_INDEX,
          KeyConditionExpression: 'error_cluster_id = :c',
          ExpressionAttributeValues: { ':c': clusterId },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        summaries.push({
          cluster_id: clusterId,
          vmid: Number(item.vmid),
          name: String(item.name ?? ''),
          node: String(item.node ?? ''),
          status: String(item.status ?? 'unknown'),
          sync_error: String(item.sync_error ?? ''),
          observed_at: Number(item.observed_at ?? 0),
        });
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return summaries;
  }

  async putNew(items: readonly NewStoredVm[]): Promise<GuardedWriteResult> {
    return this.guarded(
      items.map((vm) => ({ key: { cluster_id: vm.cluster_id, vmid: vm.vmid }, vm })),
      async ({ vm }) => {
        const result = await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toItem(vm),
            ConditionExpression: 'attribute_not_exists(vmid)',
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        return result.ConsumedCapacity;
      },
    );
  }

  async batchPut(items: readonly NewStoredVm[]): Promise<WriteReport> {
    return batchWriteAll(
      this.client,
      this.tableName,
      items.map((vm) => ({ PutRequest: { Item: toItem(vm) } })),
      this.retryPolicy,
    );
  }

  async applyChanges(changes: readonly VmChange[]): Promise<GuardedWriteResult> {
    // An empty change costs nothing: the caller decided nothing differs.
    const effective = changes.filter((change) => Object.keys(change.set).length > 0);
    return this.guarded(effective, async (change) => {
      const update = buildSetExpression(change.set);
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: change.key,
          UpdateExpression: update.expression,
          ConditionExpression: OBSERVATION_GUARD,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: { ...update.values, ':obs': change.observedAt },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return result.ConsumedCapacity;
    });
  }

  async deleteVms(removals: readonly VmRemoval[]): Promise<GuardedWriteResult> {
    return this.guarded(removals, async (removal) => {
      const result = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: removal.key,
          ConditionExpression: OBSERVATION_GUARD,
          ExpressionAttributeValues: { ':obs': removal.observedAt },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return result.ConsumedCapacity;
    });
  }

  async setPending(request: PendingRequest): Promise<SetPendingResult> {
    const expiryMs = request.expiryMs ?? DEFAULT_PENDING_EXPIRY_MS;
    // A refusal is explained by reading the item; if the blocking action ended in between, try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: request.key,
            UpdateExpression: 'SET pending_action = :a, pending_since = :s, pending_upid = :u',
            ConditionExpression:
              'attribute_exists(vmid) AND (attribute_not_exists(pending_since) OR pending_since < :expired)',
            ExpressionAttributeValues: {
              ':a': request.action,
              ':s': request.since,
              ':u': request.upid ?? null,
              ':expired': request.since - expiryMs,
            },
          }),
        );
        return { outcome: 'set' };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const current = await this.getVm(request.key, { consistentRead: true });
      if (!current) return { outcome: 'not-found' };
      const pending = pendingOf(current);
      if (pending) return { outcome: 'already-pending', pending };
      if (attempt >= 3) throw new PendingContentionError(`${request.key.cluster_id}/${request.key.vmid}`);
    }
  }

  async setPendingUpid(key: VmKey, since: number, upid: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET pending_upid = :u',
          ConditionExpression: 'pending_since = :s',
          ExpressionAttributeValues: { ':u': upid, ':s': since },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async clearPending(
    key: VmKey,
    since: number,
    options: { observedAt?: number; set?: Partial<StoredVmAttributes> } = {},
  ): Promise<boolean> {
    const pendingAttributes = ['pending_action', 'pending_since', 'pending_upid'];
    const set = options.set ?? {};
    if (options.observedAt !== undefined && Object.keys(set).length > 0) {
      // The confirmed state is written only if no newer observation has written the item since.
      const update = buildSetExpression(set, pendingAttributes);
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: update.expression,
            ConditionExpression: 'pending_since = :s AND observed_at <= :obs',
            ExpressionAttributeNames: update.names,
            ExpressionAttributeValues: { ...update.values, ':s': since, ':obs': options.observedAt },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `REMOVE ${pendingAttributes.join(', ')}`,
          ConditionExpression: 'pending_since = :s',
          ExpressionAttributeValues: { ':s': since },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async setIdleWarning(key: VmKey, shutdownAt: number | null): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          ...(shutdownAt === null
            ? { UpdateExpression: 'REMOVE idle_shutdown_at', ConditionExpression: 'attribute_exists(vmid)' }
            : {
                UpdateExpression: 'SET idle_shutdown_at = :at',
                ConditionExpression: 'attribute_exists(vmid)',
                ExpressionAttributeValues: { ':at': shutdownAt },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async resetIdleClock(key: VmKey, at: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET idle_reset_at = :at REMOVE idle_shutdown_at',
          ConditionExpression: 'attribute_exists(vmid)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private parse(item: Record<string, unknown>): StoredVm {
    return parseItem(
      StoredVmSchema,
      item,
      `${this.tableName} ${String(item.cluster_id)}/${String(item.vmid)}`,
    );
  }

  /** Runs single-item conditional writes; a refused condition is a rejection, not an error. */
  private async guarded<T extends Keyed>(
    entries: readonly T[],
    write: (entry: T) => Promise<Parameters<typeof sumCapacity>[0]>,
  ): Promise<GuardedWriteResult> {
    const outcomes = await mapWithConcurrency(entries, WRITE_CONCURRENCY, async (entry) => {
      try {
        return { key: entry.key, ok: true, report: singleWrite(asSingle(await write(entry))) };
      } catch (error) {
        // A refused conditional write is billed too (≥ 1 unit), though not reported with the error.
        if (isConditionalCheckFailed(error))
          return { key: entry.key, ok: false, report: singleWrite(undefined, false) };
        throw error;
      }
    });
    const result: GuardedWriteResult = { writes: 0, capacityUnits: 0, applied: [], rejected: [] };
    for (const outcome of outcomes) {
      result.writes += outcome.report.writes;
      result.capacityUnits += outcome.report.capacityUnits;
      (outcome.ok ? result.applied : result.rejected).push(outcome.key);
    }
    return result;
  }
}

function asSingle(consumed: Parameters<typeof sumCapacity>[0]) {
  return Array.isArray(consumed) ? consumed[0] : consumed;
}

function pendingOf(vm: StoredVm): StoredPending | null {
  const action = PendingActionSchema.safeParse(vm.pending_action);
  if (!action.success || vm.pending_since === undefined) return null;
  return {
    pending_action: action.data,
    pending_since: vm.pending_since,
    pending_upid: vm.pending_upid ?? null,
  };
}

function isMutableAttribute(name: string): name is keyof StoredVmAttributes {
  return Object.hasOwn(StoredVmAttributesSchema.shape, name);
}

/**
 * Update expression for the changed attributes plus `observed_at = :obs` (the caller binds `:obs`)
 * and any `extraRemovals`. A `sync_error` change also sets or removes the sparse errors-index
 * attribute. Values are validated against the record schema before they are sent.
 */
function buildSetExpression(
  set: Partial<StoredVmAttributes>,
  extraRemovals: readonly string[] = [],
): { expression: string; names: Record<string, string>; values: Record<string, unknown> } {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments: string[] = [];
  const removals: string[] = [...extraRemovals];
  let index = 0;
  for (const [attribute, value] of Object.entries(set)) {
    if (value === undefined) continue;
    if (!isMutableAttribute(attribute)) throw new RangeError(`not a mutable VM attribute: ${attribute}`);
    names[`#a${index}`] = attribute;
    values[`:v${index}`] = StoredVmAttributesSchema.shape[attribute].parse(value);
    assignments.push(`#a${index} = :v${index}`);
    index++;
  }
  if (set.sync_error === null) removals.push('error_cluster_id');
  else if (set.sync_error !== undefined) assignments.push('error_cluster_id = cluster_id');
  assignments.push('observed_at = :obs');
  const expression = `SET ${assignments.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`;
  return { expression, names, values };
}

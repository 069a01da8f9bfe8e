import { toApiVms } from '#shared/api/list-vms.ts';
import { type VisibleScope, vmKeyString } from '#shared/api/visibility.ts';
import { vmFreshness } from '#shared/domain/staleness.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import { toApiVm } from '#shared/domain/to-api-vm.ts';
import type { ApiVm, StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import { audienceOf, discloseSyncError } from '#shared/http/disclosure.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { InventoryRepository, SyncStateRepository } from '#shared/store/ports.ts';
import type { LiveChange } from './changes.ts';
import type { LiveLogEntry } from './ports.ts';
import type { DeltaMessage, LiveRuntimeTuple, LiveVmChange, RuntimeMessage } from './protocol.ts';

/**
 * What changed in one cluster in one stream batch, in the API's VM shape: the fields each write
 * changed (computed by the list's own mapping, `toApiVm`, on the old and new images), their current
 * values (read back through the list's own code, `toApiVms`, so runtime stats and staleness are
 * exactly what `GET /api/vms` would answer now), the VMs removed, and the (user, VM) pairs whose
 * ownership changed. VMs whose only change is CPU/memory use go into compact runtime tuples instead
 * (the `runtime` frame); a VM with any other change carries its CPU/memory in the delta.
 */

export type ApiField = keyof ApiVm;

/** Fields whose values follow from the clock and the cluster's sync state, sent when they flip. */
const FRESHNESS_FIELDS: readonly ApiField[] = ['stale', 'last_status_check', 'last_updated'];
/** Fields that follow a status change (CPU and memory show 0 unless running; uptime from the boot). */
const RUNTIME_FIELDS: readonly ApiField[] = ['cpu_usage', 'memory_usage', 'uptime'];

/** A (user, VM) pair whose visibility may have changed. */
export interface OwnershipPair {
  readonly username: string;
  readonly key: VmKey;
}

/** One cluster's share of a batch, before per-connection filtering. */
export interface ClusterDelta {
  readonly cluster: string;
  /** changed fields per VM (current values, as an admin sees them) */
  readonly vms: Map<string, LiveVmChange>;
  readonly removed: Map<string, VmKey>;
  /** VMs whose only change is CPU/memory use: `[vmid, cpu, mem]` (none of them is in `vms`) */
  readonly runtime: Map<string, LiveRuntimeTuple>;
  readonly ownership: readonly OwnershipPair[];
  /** ownership changed but the affected users are unknown (a class deleted): non-admins reload */
  readonly ownershipUnknown: boolean;
  /** current VMs of the ownership pairs (sent whole to a user who now sees them) */
  readonly current: Map<string, ApiVm>;
}

/** The fields in which two API VMs differ. */
export function differentFields(a: ApiVm, b: ApiVm): ApiField[] {
  const fields: ApiField[] = [];
  for (const field of Object.keys(b) as ApiField[]) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) fields.push(field);
  }
  return fields;
}

/** Whether a cluster state change may change any VM's freshness fields (per node, like the list). */
function freshnessMayChange(
  old: ClusterState | null,
  next: ClusterState | null,
  nowMs: number,
  staleAfterMs: number,
): boolean {
  if (old === null || next === null) return true;
  if (old.last_full_sync_at !== next.last_full_sync_at) return true;
  const nodes = new Set([...Object.keys(old.nodes), ...Object.keys(next.nodes)]);
  for (const node of nodes) {
    if (old.nodes[node]?.last_full_online_at !== next.nodes[node]?.last_full_online_at) return true;
    if (
      vmFreshness({ node }, old, nowMs, staleAfterMs).stale !==
      vmFreshness({ node }, next, nowMs, staleAfterMs).stale
    )
      return true;
  }
  return false;
}

/** What the delta computation reads. */
export interface DeltaReaders {
  readonly inventory: InventoryRepository;
  readonly syncState: SyncStateRepository;
}

/** Options of {@link computeClusterDelta}. */
export interface ComputeDeltaOptions {
  readonly nowMs: number;
  readonly staleAfterMs: number;
  readonly states: readonly ClusterState[];
  /** (user, VM) pairs already resolved from class links and memberships */
  readonly ownership: readonly OwnershipPair[];
  readonly ownershipUnknown: boolean;
}

/**
 * One cluster's delta from its changes: reads the current items of every VM concerned (one
 * BatchGet, plus the cluster's VMs when its freshness may have flipped) and their runtime stats.
 */
export async function computeClusterDelta(
  readers: DeltaReaders,
  cluster: string,
  changes: readonly LiveChange[],
  options: ComputeDeltaOptions,
): Promise<ClusterDelta> {
  const { nowMs, staleAfterMs } = options;
  const stateOf = new Map(options.states.map((state) => [state.cluster_id, state]));
  const state = stateOf.get(cluster) ?? null;
  const fields = new Map<string, Set<ApiField> | 'all'>();
  const keys = new Map<string, VmKey>();
  const removed = new Map<string, VmKey>();
  const want = (key: VmKey, add: readonly ApiField[] | 'all'): void => {
    const id = vmKeyString(key);
    keys.set(id, key);
    const current = fields.get(id);
    if (current === 'all') return;
    if (add === 'all') fields.set(id, 'all');
    else fields.set(id, new Set([...(current ?? []), ...add]));
  };
  let freshnessVms: StoredVm[] = [];
  const freshnessStates: Array<{ old: ClusterState | null; new: ClusterState | null }> = [];
  for (const change of changes) {
    switch (change.kind) {
      case 'vm': {
        if (change.new === null) {
          removed.set(vmKeyString(change.key), change.key);
          break;
        }
        if (change.old === null) {
          want(change.key, 'all');
          break;
        }
        const options = { nowMs, staleAfterMs };
        const changed = differentFields(
          toApiVm(change.old, undefined, state, options),
          toApiVm(change.new, undefined, state, options),
        );
        if (changed.includes('status')) changed.push(...RUNTIME_FIELDS);
        if (changed.length > 0) want(change.key, changed);
        break;
      }
      case 'runtime':
        for (const vmid of change.vmids) want({ cluster_id: cluster, vmid }, ['cpu_usage', 'memory_usage']);
        break;
      case 'cluster':
        if (freshnessMayChange(change.old, change.new, nowMs, staleAfterMs)) freshnessStates.push(change);
        break;
      default:
        break;
    }
  }
  for (const pair of options.ownership) keys.set(vmKeyString(pair.key), pair.key);
  if (freshnessStates.length > 0) {
    freshnessVms = await readers.inventory.listAllClusterVms(cluster);
    for (const vm of freshnessVms) {
      for (const { old, new: next } of freshnessStates) {
        const a = toApiVm(vm, undefined, old, { nowMs, staleAfterMs });
        const b = toApiVm(vm, undefined, next, { nowMs, staleAfterMs });
        if (a.stale !== b.stale || a.last_updated !== b.last_updated) {
          want({ cluster_id: vm.cluster_id, vmid: vm.vmid }, FRESHNESS_FIELDS);
        }
      }
    }
  }
  for (const id of removed.keys()) keys.set(id, removed.get(id) as VmKey);

  // Current values through the list's own mapping.
  const known = new Map(freshnessVms.map((vm) => [vmKeyString(vm), vm]));
  const toRead = [...keys.values()].filter((key) => !known.has(vmKeyString(key)));
  const items = [
    ...known.values(),
    ...(toRead.length > 0 ? await readers.inventory.getVms(toRead) : []),
  ].filter((vm) => keys.has(vmKeyString(vm)));
  const apiVms = await toApiVms(readers.syncState, items, options.states, {
    nowMs,
    staleAfterMs,
    onlyTheirNodes: true,
  });
  const current = new Map(apiVms.map((vm) => [vmKeyString(vm), vm]));

  const vms = new Map<string, LiveVmChange>();
  const runtime = new Map<string, LiveRuntimeTuple>();
  for (const [id, wanted] of fields) {
    const vm = current.get(id);
    if (vm === undefined) continue;
    if (wanted === 'all' || removed.has(id)) {
      vms.set(id, { ...vm });
      continue;
    }
    // CPU and memory of a VM that is not running show 0 before and after: no change for clients.
    const useful = [...wanted].filter(
      (field) =>
        vm.status === 'running' ||
        wanted.has('status') ||
        !(field === 'cpu_usage' || field === 'memory_usage'),
    );
    if (useful.length === 0) continue;
    if (useful.every((field) => field === 'cpu_usage' || field === 'memory_usage')) {
      runtime.set(id, [vm.vmid, vm.cpu_usage, vm.memory_usage]);
      continue;
    }
    const change: LiveVmChange = { cluster_id: vm.cluster_id, vmid: vm.vmid };
    for (const field of useful) Object.assign(change, { [field]: vm[field] });
    vms.set(id, change);
  }
  // A key removed and written again in the same batch exists: it is sent whole, not removed.
  for (const id of [...removed.keys()]) if (current.has(id)) removed.delete(id);
  return {
    cluster,
    vms,
    removed,
    runtime,
    ownership: options.ownership,
    ownershipUnknown: options.ownershipUnknown,
    current,
  };
}

/** Whether a cluster delta has anything for anyone. */
export function isEmptyDelta(delta: ClusterDelta): boolean {
  return (
    delta.vms.size === 0 &&
    delta.removed.size === 0 &&
    delta.runtime.size === 0 &&
    delta.ownership.length === 0 &&
    !delta.ownershipUnknown
  );
}

/** A change as the caller may see it (a failure's detail only for admins: the list's disclosure rule). */
export function discloseChange(change: LiveVmChange, caller: Caller): LiveVmChange {
  if (change.sync_error === undefined || change.sync_error === null) return change;
  return { ...change, sync_error: discloseSyncError(change.sync_error, audienceOf(caller)) };
}

/** Whether a scope holds a key. */
export function scopeHas(scope: VisibleScope, keys: ReadonlySet<string> | null, key: VmKey): boolean {
  return scope.all || (keys?.has(vmKeyString(key)) ?? false);
}

/** The set of keys of a limited scope (null for admins). */
export function scopeKeySet(scope: VisibleScope): Set<string> | null {
  return scope.all ? null : new Set(scope.keys.map(vmKeyString));
}

/**
 * One connection's delta for a cluster: the changes of VMs it sees (disclosed for its role), the
 * removals of VMs it saw, and for each of its ownership pairs the whole VM when it sees it now or
 * its removal otherwise. Null when nothing concerns it.
 */
export function deltaForCaller(
  delta: Pick<ClusterDelta, 'cluster' | 'vms' | 'removed' | 'ownership' | 'current'>,
  version: number,
  caller: Caller,
  scope: VisibleScope,
): DeltaMessage | null {
  const keys = scopeKeySet(scope);
  const vms = new Map<string, LiveVmChange>();
  const removed = new Map<string, VmKey>();
  for (const [id, change] of delta.vms)
    if (scopeHas(scope, keys, change)) vms.set(id, discloseChange(change, caller));
  for (const [id, key] of delta.removed) if (scopeHas(scope, keys, key)) removed.set(id, key);
  if (!scope.all) {
    for (const pair of delta.ownership) {
      if (pair.username !== caller.username) continue;
      const id = vmKeyString(pair.key);
      const vm = delta.current.get(id);
      if (vm !== undefined && scopeHas(scope, keys, pair.key)) {
        vms.set(id, discloseChange({ ...vm }, caller));
        removed.delete(id);
      } else {
        vms.delete(id);
        removed.set(id, pair.key);
      }
    }
  }
  if (vms.size === 0 && removed.size === 0) return null;
  return {
    type: 'delta',
    cluster: delta.cluster,
    version,
    vms: [...vms.values()],
    removed: [...removed.values()],
  };
}

/**
 * One connection's runtime frame for a cluster: the tuples of the VMs it sees, minus those its
 * delta of the same change already sends (`skip`: their keys). Null when none is left.
 */
export function runtimeForCaller(
  delta: Pick<ClusterDelta, 'cluster' | 'runtime'>,
  version: number,
  scope: VisibleScope,
  skip: ReadonlySet<string> = new Set(),
): RuntimeMessage | null {
  const keys = scopeKeySet(scope);
  const vms: LiveRuntimeTuple[] = [];
  for (const [id, tuple] of delta.runtime) {
    if (skip.has(id)) continue;
    if (scopeHas(scope, keys, { cluster_id: delta.cluster, vmid: tuple[0] })) vms.push(tuple);
  }
  if (vms.length === 0) return null;
  return { type: 'runtime', cluster: delta.cluster, version, vms };
}

/**
 * What one connection is sent for a cluster's change: its `delta` (if any) first, then its `runtime`
 * frame (if any), both with the change's version.
 */
export function messagesForCaller(
  delta: Pick<ClusterDelta, 'cluster' | 'vms' | 'removed' | 'runtime' | 'ownership' | 'current'>,
  version: number,
  caller: Caller,
  scope: VisibleScope,
): Array<DeltaMessage | RuntimeMessage> {
  const changes = deltaForCaller(delta, version, caller, scope);
  const sent = new Set<string>([
    ...(changes?.vms ?? []).map(vmKeyString),
    ...(changes?.removed ?? []).map(vmKeyString),
  ]);
  const runtime = runtimeForCaller(delta, version, scope, sent);
  return [...(changes === null ? [] : [changes]), ...(runtime === null ? [] : [runtime])];
}

/** The log entry of a cluster delta (unfiltered; marked too large past `maxBytes`). */
export function logEntryOf(delta: ClusterDelta, version: number, at: number, maxBytes: number): LiveLogEntry {
  const entry: LiveLogEntry = {
    cluster_id: delta.cluster,
    version,
    at,
    vms: [...delta.vms.values()],
    removed: [...delta.removed.values()],
    runtime: [...delta.runtime.values()],
    ownership: delta.ownership.length > 0 || delta.ownershipUnknown,
    ownership_users: delta.ownershipUnknown
      ? null
      : [...new Set(delta.ownership.map((pair) => pair.username))],
    too_large: false,
  };
  if (Buffer.byteLength(JSON.stringify(entry)) <= maxBytes) return entry;
  return { ...entry, vms: [], removed: [], runtime: [], too_large: true };
}

import { isPendingActionSettled } from '#shared/domain/pending-action.ts';
import {
  type ClusterRuntime,
  nextRuntimeSetTime,
  type RuntimeSample,
  runtimeStatsEqual,
} from '#shared/domain/runtime-stats.ts';
import type { ClusterCounts, NodeState } from '#shared/domain/sync-state.ts';
import {
  bootTimeFromUptime,
  isSameBoot,
  type NewStoredVm,
  normalizeVmStatus,
  type StoredVm,
  type StoredVmAttributes,
  tagsToList,
} from '#shared/domain/vm-record.ts';
import { runtimeFromResource } from '#shared/proxmox/mapping.ts';
import type { GuestResource, NodeResource } from '#shared/proxmox/schemas.ts';
import { applyAttributes, diffAttributes } from './diff.ts';

/**
 * Planning of the listing part of a sync (the whole quick sync, and the first half of a full sync):
 * from one `/cluster/resources` answer and what is stored, decide which VM items to create, change
 * or remove, which nodes' runtime samples to rewrite (in the cluster's packed set) and what the cluster's node states become.
 * Pure: no I/O, no clock.
 */

const MIB = 1024 * 1024;

/** What one successful listing of a cluster returned. */
export interface ListingObservation {
  clusterId: string;
  clusterName: string;
  /** epoch ms when the observation started (the write guard) */
  observedAt: number;
  guests: readonly GuestResource[];
  nodes: readonly NodeResource[];
  /** Node membership from `/cluster/status` (full sync), which wins over the resources rows. */
  nodeOnline?: ReadonlyMap<string, boolean>;
  /** True when this listing starts a full sync (the guests of its online nodes get their details read). */
  full?: boolean;
}

/** A node runtime set to rewrite. */
export interface RuntimeWrite {
  node: string;
  stats: Map<number, RuntimeSample>;
  /**
   * The new set's time: the listing's, or one millisecond after the set it replaces when that one
   * is not older (two passes in the same millisecond). Sets of a node never share a time, so a
   * reader holding a set by its time (the read cache) or telling leftovers apart never mixes them.
   */
  observedAt: number;
}

/** The writes a listing calls for, decided before anything is written. */
export interface ListingPlan {
  /** guests seen for the first time (stored with what the listing tells) */
  creates: NewStoredVm[];
  /** changed attributes of known guests */
  changes: { vmid: number; set: Partial<StoredVmAttributes> }[];
  /** stored guests a complete listing no longer contains (or whose VMID now names another guest) */
  removals: number[];
  runtimeWrites: RuntimeWrite[];
  /** nodes whose runtime samples must go (node left the cluster) */
  runtimeDeletes: string[];
  /** the cluster's node states after this listing */
  nodes: Record<string, NodeState>;
  /** every guest as it will be stored after the plan's writes (for counts and the full sync) */
  view: Map<number, StoredVm>;
  /** the listing's rows by vmid */
  rows: Map<number, GuestResource>;
  /** vmids whose node was online and status known: only these get per-guest calls */
  observable: Set<number>;
  /** user actions that this observation settles: (vmid, the action's pending_since) */
  settledActions: { vmid: number; since: number }[];
}

/**
 * Online state of every node: `/cluster/status` first, then the resources node row; a node known
 * only from guest rows counts as online when the guest's status is known.
 */
export function nodeOnlineMap(listing: ListingObservation): Map<string, boolean> {
  const online = new Map<string, boolean>();
  for (const row of listing.nodes) online.set(row.node, row.status === 'online');
  for (const [node, isOnline] of listing.nodeOnline ?? []) online.set(node, isOnline);
  return online;
}

/**
 * New node states: every listed node is seen now; `last_online_at` moves only while online, and
 * `last_full_online_at` only when a full sync finds the node online.
 */
export function nextNodeStates(
  online: ReadonlyMap<string, boolean>,
  previous: Readonly<Record<string, NodeState>>,
  observedAt: number,
  full = false,
): Record<string, NodeState> {
  const nodes: Record<string, NodeState> = {};
  for (const [node, isOnline] of online) {
    nodes[node] = {
      online: isOnline,
      last_seen_at: observedAt,
      last_online_at: isOnline ? observedAt : (previous[node]?.last_online_at ?? null),
      last_full_online_at: isOnline && full ? observedAt : (previous[node]?.last_full_online_at ?? null),
    };
  }
  return nodes;
}

/** The attributes a listing row tells about a guest that every sync keeps current. */
export function listingAttributes(
  row: GuestResource,
  clusterName: string,
  observedAt: number,
  previousBootTime: number | null,
): Partial<StoredVmAttributes> {
  const status = normalizeVmStatus(row.status);
  const runtime = runtimeFromResource(row, observedAt);
  const observedBoot =
    runtime.uptime !== null && (runtime.uptime > 0 || status === 'running')
      ? bootTimeFromUptime(observedAt, runtime.uptime)
      : null;
  // Uptime is reported in whole seconds every ~10 s: the same boot keeps its stored time (no write).
  const bootTime = isSameBoot(previousBootTime, observedBoot) ? previousBootTime : observedBoot;
  return {
    cluster_name: clusterName,
    status,
    node: row.node,
    boot_time: bootTime,
    lock: row.lock ?? null,
    hastate: row.hastate ?? null,
    pool: row.pool ?? null,
    unobserved_since: null,
    // A guest that is not running answers neither RDP nor SSH, whatever the last probe found.
    ...(status === 'running' ? {} : { rdp_available: false, ssh_available: false }),
  };
}

/**
 * A guest seen for the first time, stored with what the listing tells and `details_pending` set
 * until its config (category, IP, RDP/SSH) has been read.
 */
export function newVmFromListing(
  row: GuestResource,
  listing: ListingObservation,
  nodeIsOnline: boolean,
): NewStoredVm {
  const known = nodeIsOnline && normalizeVmStatus(row.status) !== 'unknown';
  const attributes = listingAttributes(row, listing.clusterName, listing.observedAt, null);
  return {
    cluster_id: listing.clusterId,
    vmid: row.vmid,
    cluster_name: listing.clusterName,
    name: row.name ?? `${row.type}-${row.vmid}`,
    node: row.node,
    type: row.type,
    category: 'other',
    status: attributes.status ?? 'unknown',
    memory: row.maxmem === undefined ? 0 : Math.round(row.maxmem / MIB),
    cores: row.maxcpu === undefined ? 0 : Math.round(row.maxcpu),
    disk_size: row.maxdisk === undefined ? 0 : Math.round(row.maxdisk),
    is_template: row.template ?? false,
    tag_list: tagsToList(row.tags),
    pool: row.pool ?? null,
    lock: row.lock ?? null,
    hastate: row.hastate ?? null,
    boot_time: attributes.boot_time ?? null,
    unobserved_since: known ? null : listing.observedAt,
    details_pending: true,
    observed_at: listing.observedAt,
  };
}

/** Runtime samples of the running guests of each online node. */
export function runtimeSamplesByNode(
  guests: readonly GuestResource[],
  online: ReadonlyMap<string, boolean>,
  observedAt: number,
): Map<string, Map<number, RuntimeSample>> {
  const byNode = new Map<string, Map<number, RuntimeSample>>();
  for (const [node, isOnline] of online) if (isOnline) byNode.set(node, new Map());
  for (const row of guests) {
    const samples = byNode.get(row.node);
    if (!samples || row.status !== 'running') continue;
    const runtime = runtimeFromResource(row, observedAt);
    if (runtime.cpuUsage === null || runtime.memoryUsage === null) continue;
    samples.set(row.vmid, { cpu_usage: runtime.cpuUsage, memory_usage: runtime.memoryUsage });
  }
  return byNode;
}

/** Aggregates kept in the sync state so that stats and health never scan the inventory. */
export function countVms(vms: Iterable<StoredVm>): ClusterCounts {
  const byNode: NonNullable<ClusterCounts['by_node']> = {};
  const counts: ClusterCounts = { total: 0, running: 0, error: 0, templates: 0, by_node: byNode };
  for (const vm of vms) {
    counts.total++;
    const node = byNode[vm.node] ?? { total: 0, unobserved: 0 };
    node.total++;
    if (vm.unobserved_since !== null) node.unobserved++;
    byNode[vm.node] = node;
    if (vm.status === 'running') counts.running++;
    if (vm.sync_error !== null) counts.error++;
    if (vm.is_template) counts.templates++;
  }
  return counts;
}

/**
 * Plans the writes of one successful listing against the stored guests, runtime and node states.
 * Guests whose node is not online, or whose status Proxmox cannot tell, keep their last known data
 * (they are shown stale through the node state or `unobserved_since`). Stored guests the listing
 * no longer contains are removed only when their node was listed online (or left the cluster), so
 * an incomplete answer never deletes anything.
 */
export function planListing(
  listing: ListingObservation,
  stored: readonly StoredVm[],
  runtime: ClusterRuntime,
  previousNodes: Readonly<Record<string, NodeState>>,
  parseNew: (vm: NewStoredVm) => StoredVm,
): ListingPlan {
  const online = nodeOnlineMap(listing);
  const isOnline = (node: string, row?: GuestResource): boolean =>
    online.get(node) ?? (row !== undefined && normalizeVmStatus(row.status) !== 'unknown');
  const storedById = new Map(stored.map((vm) => [vm.vmid, vm]));
  const rows = new Map<number, GuestResource>();
  for (const row of listing.guests) rows.set(row.vmid, row);

  const plan: ListingPlan = {
    creates: [],
    changes: [],
    removals: [],
    runtimeWrites: [],
    runtimeDeletes: [],
    nodes: nextNodeStates(online, previousNodes, listing.observedAt, listing.full ?? false),
    view: new Map(),
    rows,
    observable: new Set(),
    settledActions: [],
  };

  for (const row of rows.values()) {
    const nodeOnline = isOnline(row.node, row);
    const statusKnown = normalizeVmStatus(row.status) !== 'unknown';
    if (nodeOnline && statusKnown) plan.observable.add(row.vmid);
    const current = storedById.get(row.vmid);
    // A VMID now naming a guest of another type is a new guest: the old one is removed first.
    if (!current || current.type !== row.type) {
      if (current) plan.removals.push(row.vmid);
      const created = newVmFromListing(row, listing, nodeOnline);
      plan.creates.push(created);
      plan.view.set(row.vmid, parseNew(created));
      continue;
    }
    let set: Partial<StoredVmAttributes>;
    if (!nodeOnline) {
      set = {}; // last known data stays; the node state marks the guest stale
    } else if (!statusKnown) {
      set = current.unobserved_since === null ? { unobserved_since: listing.observedAt } : {};
    } else {
      set = diffAttributes(
        current,
        listingAttributes(row, listing.clusterName, listing.observedAt, current.boot_time),
      );
    }
    if (Object.keys(set).length > 0) plan.changes.push({ vmid: row.vmid, set });
    plan.view.set(row.vmid, applyAttributes(current, set));
    const since = current.pending_since;
    if (
      since !== undefined &&
      nodeOnline &&
      statusKnown &&
      isPendingActionSettled(current, normalizeVmStatus(row.status), listing.observedAt)
    ) {
      plan.settledActions.push({ vmid: row.vmid, since });
    }
  }

  for (const vm of stored) {
    if (rows.has(vm.vmid)) continue;
    const nodeListed = online.has(vm.node);
    if (!nodeListed || online.get(vm.node) === true) plan.removals.push(vm.vmid);
    else plan.view.set(vm.vmid, vm); // its node is offline: the listing may be incomplete there
  }

  const samples = runtimeSamplesByNode(listing.guests, online, listing.observedAt);
  for (const [node, stats] of samples) {
    const previous = runtime.get(node);
    if (previous && runtimeStatsEqual(previous.stats, stats)) continue;
    plan.runtimeWrites.push({
      node,
      stats,
      observedAt: nextRuntimeSetTime(listing.observedAt, previous?.observed_at),
    });
  }
  for (const node of runtime.keys()) if (!online.has(node)) plan.runtimeDeletes.push(node);
  // Which runtime set each node will have: readers that hold it read nothing.
  const written = new Map(plan.runtimeWrites.map((write) => [write.node, write.observedAt]));
  for (const [node, state] of Object.entries(plan.nodes)) {
    state.runtime_at = written.get(node) ?? runtime.get(node)?.observed_at ?? null;
  }
  return plan;
}

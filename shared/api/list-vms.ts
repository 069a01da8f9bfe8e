import {
  compareVmKeys,
  decodeListCursor,
  encodeListCursor,
  hasFilters,
  isAfterPosition,
  type ListPosition,
  matchesFilters,
  type VmListFilters,
} from '#shared/api/list-query.ts';
import type { InventoryReadCache } from '#shared/api/read-cache.ts';
import type { VisibleScope } from '#shared/api/visibility.ts';
import type { ClusterRuntime } from '#shared/domain/runtime-stats.ts';
import { findRuntimeSample } from '#shared/domain/runtime-stats.ts';
import type { ClusterState } from '#shared/domain/sync-state.ts';
import { toApiVm } from '#shared/domain/to-api-vm.ts';
import type { ApiVm, StoredVm } from '#shared/domain/vm-record.ts';
import type { InventoryRepository, SyncStateRepository } from '#shared/store/ports.ts';

/**
 * The VM list: one page of what a caller sees, from the table. Admins page through each cluster
 * in (cluster_id, vmid) order with Queries (never a scan); other callers get a BatchGet of exactly
 * their VMs. Runtime stats are read per cluster on the page and merged in; staleness is derived.
 */

/** What the list reads. */
export interface ListVmsReaders {
  readonly inventory: InventoryRepository;
  readonly syncState: SyncStateRepository;
}

/** One page of the list, before serialization. */
export interface VmListPage {
  readonly vms: ApiVm[];
  /** true when any VM returned is stale */
  readonly stale: boolean;
  readonly nextCursor: string | null;
}

/** Options of {@link listVmsPage}. */
export interface ListVmsPageOptions {
  readonly filters: VmListFilters;
  readonly limit: number;
  readonly cursor?: string | undefined;
  readonly nowMs: number;
  readonly staleAfterMs: number;
  /** the cluster states, when the caller already read them */
  readonly clusterStates?: readonly ClusterState[];
  /**
   * A warm process's read cache: VMs and runtime stats are taken from it when their versions (in
   * `clusterStates`, which must then be given) still hold, and read strongly consistently otherwise.
   */
  readonly cache?: InventoryReadCache;
}

/** Items read per Query when filters may drop some (so a sparse match needs few round trips). */
const FILTERED_READ_SIZE = 1000;

/** Reads a page of the VMs in scope and converts them to the API shape. */
export async function listVmsPage(
  readers: ListVmsReaders,
  scope: VisibleScope,
  options: ListVmsPageOptions,
): Promise<VmListPage> {
  const position = options.cursor === undefined ? null : decodeListCursor(options.cursor);
  const states = options.clusterStates ?? (await readers.syncState.listClusterStates());
  if (options.cache !== undefined)
    return listVmsPageCached(readers, options.cache, scope, states, position, options);
  const runtimeReads = new Map<string, Promise<ClusterRuntime>>();
  let raw: RawPage;
  if (scope.all) {
    const expected = expectedClusters(states, position, options);
    // The clusters the counts say fill the page are read at once, with their runtime stats: each
    // cluster's packed runtime item (every node the cluster state lists), one BatchGet for all.
    const stateById = new Map(states.map((state) => [state.cluster_id, state]));
    const nodes = [...expected.keys()].flatMap((clusterId) =>
      Object.keys(stateById.get(clusterId)?.nodes ?? {}).map((node) => ({ clusterId, node })),
    );
    const batch = settledLater(readers.syncState.readNodeRuntimes(nodes));
    for (const clusterId of expected.keys()) {
      runtimeReads.set(
        clusterId,
        settledLater(batch.then((byCluster): ClusterRuntime => byCluster.get(clusterId) ?? new Map())),
      );
    }
    raw = await readAdminPage(readers.inventory, states, position, options, expected);
  } else {
    raw = await readUserPage(readers.inventory, scope.keys, position, options);
  }
  const { items, next } = raw;
  // Users' few VMs: only their nodes' runtime samples; an admin page: each cluster's at once.
  const vms = await toApiVms(readers.syncState, items, states, {
    ...options,
    onlyTheirNodes: !scope.all,
    runtimeReads,
  });
  return {
    vms,
    stale: vms.some((vm) => vm.stale),
    nextCursor: next === null ? null : encodeListCursor(next),
  };
}

/** Converts stored VMs with their clusters' runtime stats and states (runtime read per cluster). */
export async function toApiVms(
  syncState: SyncStateRepository,
  items: readonly StoredVm[],
  states: readonly ClusterState[],
  options: {
    nowMs: number;
    staleAfterMs: number;
    onlyTheirNodes?: boolean;
    /** runtime reads already under way, by cluster */
    runtimeReads?: ReadonlyMap<string, Promise<ClusterRuntime>>;
  },
): Promise<ApiVm[]> {
  const nodesByCluster = new Map<string, Set<string>>();
  for (const vm of items) {
    const nodes = nodesByCluster.get(vm.cluster_id) ?? new Set<string>();
    nodes.add(vm.node);
    nodesByCluster.set(vm.cluster_id, nodes);
  }
  let runtimes: Map<string, ClusterRuntime>;
  if (options.onlyTheirNodes) {
    // A user's few VMs: their nodes' runtime stats in one BatchGet, whatever the clusters.
    runtimes = await syncState.readNodeRuntimes(
      [...nodesByCluster].flatMap(([clusterId, nodes]) => [...nodes].map((node) => ({ clusterId, node }))),
    );
  } else {
    runtimes = new Map(
      await Promise.all(
        [...nodesByCluster.keys()].map(
          async (id): Promise<[string, ClusterRuntime]> => [
            id,
            await (options.runtimeReads?.get(id) ?? syncState.readRuntime(id)),
          ],
        ),
      ),
    );
  }
  const stateById = new Map(states.map((state) => [state.cluster_id, state]));
  return items.map((vm) => {
    const runtime = runtimes.get(vm.cluster_id);
    return toApiVm(vm, runtime ? findRuntimeSample(runtime, vm) : undefined, stateById.get(vm.cluster_id), {
      nowMs: options.nowMs,
      staleAfterMs: options.staleAfterMs,
    });
  });
}

interface RawPage {
  items: StoredVm[];
  next: ListPosition | null;
}

/** The clusters of an admin page, in page order, from the position on. */
function pageClusters(
  states: readonly ClusterState[],
  position: ListPosition | null,
  filters: VmListFilters,
): string[] {
  const known = states.map((state) => state.cluster_id);
  const clusters = [...new Set(filters.cluster === undefined ? known : [filters.cluster])].sort();
  return position === null ? clusters : clusters.filter((id) => id >= position.cluster);
}

/**
 * For an unfiltered admin page: the clusters whose VM counts (kept by the sync) say they fill the
 * page, each with how many items to read, so that their Queries run in parallel instead of one after
 * the other. Counts may be off by the latest changes: the page loop reads on where they fell short.
 */
function expectedClusters(
  states: readonly ClusterState[],
  position: ListPosition | null,
  options: ListVmsPageOptions,
): Map<string, number> {
  const expected = new Map<string, number>();
  if (hasFilters(options.filters)) return expected;
  const totals = new Map(states.map((state) => [state.cluster_id, state.counts.total]));
  let before = 0;
  for (const clusterId of pageClusters(states, position, options.filters)) {
    if (before > options.limit) break;
    // One VM more than needed: when it exists, the page is not the last one.
    expected.set(clusterId, Math.max(1, options.limit + 1 - before));
    before += totals.get(clusterId) ?? 0;
  }
  return expected;
}

/** Marks a read that may never be awaited (its page filled first) as handled; awaiting it still throws. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function readAdminPage(
  inventory: InventoryRepository,
  states: readonly ClusterState[],
  position: ListPosition | null,
  options: ListVmsPageOptions,
  expected: ReadonlyMap<string, number>,
): Promise<RawPage> {
  const { filters, limit } = options;
  const clusters = pageClusters(states, position, filters);
  const startAfter = (clusterId: string): number | null =>
    position !== null && position.cluster === clusterId ? position.afterVmid : null;
  const firstReads = new Map(
    [...expected].map(([clusterId, count]) => [
      clusterId,
      settledLater(
        inventory.listClusterVms(clusterId, { startAfterVmid: startAfter(clusterId), limit: count }),
      ),
    ]),
  );
  const filtered = hasFilters(filters);
  const items: StoredVm[] = [];
  const nextAfterLast = (): RawPage => {
    const last = items[items.length - 1];
    return { items, next: last === undefined ? null : { cluster: last.cluster_id, afterVmid: last.vmid } };
  };
  for (const clusterId of clusters) {
    let after = startAfter(clusterId);
    let first = firstReads.get(clusterId);
    for (;;) {
      // One VM more than needed: when it exists (and matches), the page is not the last one.
      const wanted = limit - items.length + 1;
      const page = await (first ??
        inventory.listClusterVms(clusterId, {
          startAfterVmid: after,
          limit: filtered ? Math.max(wanted, FILTERED_READ_SIZE) : wanted,
        }));
      first = undefined;
      for (const vm of page.items) {
        if (!matchesFilters(vm, filters)) continue;
        if (items.length === limit) return nextAfterLast();
        items.push(vm);
      }
      const lastRead = page.items[page.items.length - 1];
      if (page.cursor === null || lastRead === undefined) break;
      // Full, and the rest of this cluster is unread: the next page starts after the last VM taken.
      if (items.length === limit) return nextAfterLast();
      after = lastRead.vmid;
    }
  }
  return { items, next: null };
}

async function readUserPage(
  inventory: InventoryRepository,
  keys: readonly { cluster_id: string; vmid: number }[],
  position: ListPosition | null,
  options: ListVmsPageOptions,
): Promise<RawPage> {
  const { filters, limit } = options;
  const inScope = keys
    .filter((key) => filters.cluster === undefined || key.cluster_id === filters.cluster)
    .filter((key) => position === null || isAfterPosition(key, position))
    .sort(compareVmKeys);
  const found = (await inventory.getVms(inScope)).filter((vm) => matchesFilters(vm, filters));
  found.sort(compareVmKeys);
  const items = found.slice(0, limit);
  const last = items[items.length - 1];
  const more = found.length > limit && last !== undefined;
  return { items, next: more ? { cluster: last.cluster_id, afterVmid: last.vmid } : null };
}

/**
 * {@link listVmsPage} through the read cache: the same page, from memory where the versions in the
 * cluster states still hold. An admin page takes each cluster's VMs whole (one read per cluster
 * whose version moved), a user's page their VMs by key; runtime stats are read only for the nodes
 * whose chunk set moved. What it answers equals the uncached page (test/integration/api/
 * read-cache.property.test.ts).
 */
async function listVmsPageCached(
  readers: ListVmsReaders,
  cache: InventoryReadCache,
  scope: VisibleScope,
  states: readonly ClusterState[],
  position: ListPosition | null,
  options: ListVmsPageOptions,
): Promise<VmListPage> {
  const { filters, limit } = options;
  const stateById = new Map(states.map((state) => [state.cluster_id, state]));
  const versionOf = (clusterId: string) => stateById.get(clusterId)?.inventory_version;
  let raw: RawPage;
  if (scope.all) {
    raw = { items: [], next: null };
    clusters: for (const clusterId of pageClusters(states, position, filters)) {
      const vms = await cache.clusterVms(clusterId, versionOf(clusterId), () =>
        readers.inventory.listAllClusterVms(clusterId, { consistentRead: true }),
      );
      const after = position !== null && position.cluster === clusterId ? position.afterVmid : null;
      for (const vm of vms) {
        if ((after !== null && vm.vmid <= after) || !matchesFilters(vm, filters)) continue;
        if (raw.items.length === limit) {
          const last = raw.items[raw.items.length - 1];
          raw.next = last === undefined ? null : { cluster: last.cluster_id, afterVmid: last.vmid };
          break clusters;
        }
        raw.items.push(vm);
      }
    }
  } else {
    const inScope = scope.keys
      .filter((key) => filters.cluster === undefined || key.cluster_id === filters.cluster)
      .filter((key) => position === null || isAfterPosition(key, position))
      .sort(compareVmKeys);
    const found = (
      await cache.vmsByKey(inScope, versionOf, (missing) =>
        readers.inventory.getVms(missing, { consistentRead: true }),
      )
    ).filter((vm) => matchesFilters(vm, filters));
    found.sort(compareVmKeys);
    const items = found.slice(0, limit);
    const last = items[items.length - 1];
    raw = {
      items,
      next:
        found.length > limit && last !== undefined
          ? { cluster: last.cluster_id, afterVmid: last.vmid }
          : null,
    };
  }
  // The same nodes as the uncached page: every node of an admin page's clusters, a user's VMs' nodes.
  const nodes = new Map<string, { clusterId: string; node: string }>();
  if (scope.all) {
    for (const clusterId of new Set(raw.items.map((vm) => vm.cluster_id))) {
      for (const node of Object.keys(stateById.get(clusterId)?.nodes ?? {})) {
        nodes.set(`${clusterId}#${node}`, { clusterId, node });
      }
    }
  } else {
    for (const vm of raw.items)
      nodes.set(`${vm.cluster_id}#${vm.node}`, { clusterId: vm.cluster_id, node: vm.node });
  }
  const runtimes = await cache.nodeRuntimes(
    [...nodes.values()].map((entry) => ({
      ...entry,
      runtimeAt: stateById.get(entry.clusterId)?.nodes[entry.node]?.runtime_at,
    })),
    (missing) => readers.syncState.readNodeRuntimes(missing),
  );
  const vms = raw.items.map((vm) => {
    const runtime = runtimes.get(vm.cluster_id);
    return toApiVm(vm, runtime ? findRuntimeSample(runtime, vm) : undefined, stateById.get(vm.cluster_id), {
      nowMs: options.nowMs,
      staleAfterMs: options.staleAfterMs,
    });
  });
  return {
    vms,
    stale: vms.some((vm) => vm.stale),
    nextCursor: raw.next === null ? null : encodeListCursor(raw.next),
  };
}

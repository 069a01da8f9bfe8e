import type { NodeRuntime } from '#shared/domain/runtime-stats.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import type { VisibleScope } from './visibility.ts';

/**
 * What a warm API function keeps between requests (README "Read cache"), each entry valid only
 * under the version it was read with:
 * - a cluster's VM items under its `inventory_version` (all of them once an admin list read the
 *   cluster, or the few a user's list asked for),
 * - a node's runtime stats under the `observed_at` of their chunk set (`runtime_at` in the state),
 * - a caller's visible scope under the ownership version.
 * Writers set a new version after they write, and a reader keeps what it read under the version it
 * saw before reading, so an entry is never newer-versioned than its data. An entry without a
 * version (none stored yet) is never kept. Entries also expire after `maxAgeMs`: a bound, should a
 * writer ever die between its write and its version.
 */

/** Options of {@link InventoryReadCache}. */
export interface ReadCacheOptions {
  /** epoch ms */
  readonly now: () => number;
  /** entries older than this are read again (default 15 minutes) */
  readonly maxAgeMs?: number;
  /**
   * A scope read within this long after its version was set is not kept: the ownership indexes
   * (ByMember, ByVm) may not show that write yet (default 10 s).
   */
  readonly indexLagMs?: number;
  /** scopes kept at most (the oldest go first; default 1,000) */
  readonly maxScopes?: number;
}

/** Default age after which an entry is read again, whatever its version says. */
export const DEFAULT_READ_CACHE_MAX_AGE_MS = 15 * 60_000;

interface ClusterEntry {
  readonly version: string;
  readonly readAt: number;
  /** every VM of the cluster in vmid order, once read whole */
  all: StoredVm[] | null;
  /** VMs read by key (null: not there) */
  readonly byVmid: Map<number, StoredVm | null>;
}

/** What the cache saw and read, for tests and the benchmark. */
export interface ReadCacheCounters {
  clusterHits: number;
  clusterReads: number;
  keyHits: number;
  keyReads: number;
  runtimeHits: number;
  runtimeReads: number;
  scopeHits: number;
  scopeReads: number;
}

/** The time a version token was made (its base-36 prefix), or null. */
function versionTime(version: string): number | null {
  const time = Number.parseInt(version.split('.')[0] ?? '', 36);
  return Number.isFinite(time) ? time : null;
}

/** Per-process read cache of the list (see above). */
export class InventoryReadCache {
  readonly counters: ReadCacheCounters = {
    clusterHits: 0,
    clusterReads: 0,
    keyHits: 0,
    keyReads: 0,
    runtimeHits: 0,
    runtimeReads: 0,
    scopeHits: 0,
    scopeReads: 0,
  };
  private readonly clusters = new Map<string, ClusterEntry>();
  private readonly runtimes = new Map<
    string,
    { readonly at: number; readonly readAt: number; readonly runtime: NodeRuntime }
  >();
  private readonly scopes = new Map<
    string,
    { readonly version: string; readonly readAt: number; readonly scope: VisibleScope }
  >();
  private readonly maxAgeMs: number;
  private readonly indexLagMs: number;
  private readonly maxScopes: number;

  constructor(private readonly options: ReadCacheOptions) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_READ_CACHE_MAX_AGE_MS;
    this.indexLagMs = options.indexLagMs ?? 10_000;
    this.maxScopes = options.maxScopes ?? 1000;
  }

  private fresh(readAt: number): boolean {
    return this.options.now() - readAt <= this.maxAgeMs;
  }

  /** The cluster's entry valid under `version`, or a new empty one (none without a version). */
  private entry(clusterId: string, version: string | null | undefined, readAt: number): ClusterEntry | null {
    if (version === null || version === undefined) return null;
    const current = this.clusters.get(clusterId);
    if (current && current.version === version && this.fresh(current.readAt)) return current;
    const created: ClusterEntry = { version, readAt, all: null, byVmid: new Map() };
    this.clusters.set(clusterId, created);
    return created;
  }

  /**
   * Every VM of a cluster in vmid order: from memory when held under `version`, otherwise from
   * `read` (which must read strongly consistently: the version was read before it).
   */
  async clusterVms(
    clusterId: string,
    version: string | null | undefined,
    read: () => Promise<StoredVm[]>,
  ): Promise<StoredVm[]> {
    const held = version === null || version === undefined ? undefined : this.clusters.get(clusterId);
    if (held && held.version === version && held.all !== null && this.fresh(held.readAt)) {
      this.counters.clusterHits++;
      return held.all;
    }
    this.counters.clusterReads++;
    const readAt = this.options.now();
    const vms = [...(await read())].sort((a, b) => a.vmid - b.vmid);
    const entry = this.entry(clusterId, version, readAt);
    if (entry) {
      entry.all = vms;
      for (const vm of vms) entry.byVmid.set(vm.vmid, vm);
    }
    return vms;
  }

  /** VMs by key: those held under their cluster's version from memory, the rest from `read`. */
  async vmsByKey(
    keys: readonly VmKey[],
    versionOf: (clusterId: string) => string | null | undefined,
    read: (missing: VmKey[]) => Promise<StoredVm[]>,
  ): Promise<StoredVm[]> {
    const found: StoredVm[] = [];
    const missing: VmKey[] = [];
    for (const key of keys) {
      const version = versionOf(key.cluster_id);
      const held = this.clusters.get(key.cluster_id);
      const valid = held && version != null && held.version === version && this.fresh(held.readAt);
      const known = valid ? (held.all !== null ? 'all' : held.byVmid.has(key.vmid) ? 'key' : null) : null;
      if (valid && known !== null) {
        this.counters.keyHits++;
        const vm = held.byVmid.get(key.vmid) ?? null;
        if (vm) found.push(vm);
      } else missing.push(key);
    }
    if (missing.length === 0) return found;
    this.counters.keyReads += missing.length;
    const readAt = this.options.now();
    const read_ = await read(missing);
    const byKey = new Map(read_.map((vm) => [`${vm.cluster_id}#${vm.vmid}`, vm]));
    const entries = new Map<string, ClusterEntry | null>();
    for (const key of missing) {
      if (!entries.has(key.cluster_id)) {
        entries.set(key.cluster_id, this.entry(key.cluster_id, versionOf(key.cluster_id), readAt));
      }
      const vm = byKey.get(`${key.cluster_id}#${key.vmid}`) ?? null;
      entries.get(key.cluster_id)?.byVmid.set(key.vmid, vm);
      if (vm) found.push(vm);
    }
    return found;
  }

  /**
   * Node runtime stats: a node's from memory when held with the chunk set the state names
   * (`runtimeAt`), the rest from `read` in one call. Nodes with no stored set are not kept.
   */
  async nodeRuntimes(
    nodes: readonly { clusterId: string; node: string; runtimeAt: number | null | undefined }[],
    read: (nodes: { clusterId: string; node: string }[]) => Promise<Map<string, Map<string, NodeRuntime>>>,
  ): Promise<Map<string, Map<string, NodeRuntime>>> {
    const result = new Map<string, Map<string, NodeRuntime>>();
    const put = (clusterId: string, runtime: NodeRuntime) => {
      const cluster = result.get(clusterId) ?? new Map<string, NodeRuntime>();
      cluster.set(runtime.node, runtime);
      result.set(clusterId, cluster);
    };
    const missing: { clusterId: string; node: string }[] = [];
    for (const { clusterId, node, runtimeAt } of nodes) {
      const held = this.runtimes.get(`${clusterId}#${node}`);
      if (held && runtimeAt != null && held.at === runtimeAt && this.fresh(held.readAt)) {
        this.counters.runtimeHits++;
        put(clusterId, held.runtime);
      } else missing.push({ clusterId, node });
    }
    if (missing.length === 0) return result;
    this.counters.runtimeReads += missing.length;
    const readAt = this.options.now();
    const read_ = await read(missing);
    for (const [clusterId, runtime] of read_) {
      for (const nodeRuntime of runtime.values()) {
        put(clusterId, nodeRuntime);
        this.runtimes.set(`${clusterId}#${nodeRuntime.node}`, {
          at: nodeRuntime.observed_at,
          readAt,
          runtime: nodeRuntime,
        });
      }
    }
    return result;
  }

  /** A caller's visible scope: from memory when held under the ownership `version`, else resolved. */
  async scope(
    callerKey: string,
    version: string | null,
    resolve: () => Promise<VisibleScope>,
  ): Promise<VisibleScope> {
    const held = this.scopes.get(callerKey);
    if (held && version !== null && held.version === version && this.fresh(held.readAt)) {
      this.counters.scopeHits++;
      return held.scope;
    }
    this.counters.scopeReads++;
    const readAt = this.options.now();
    const scope = await resolve();
    const madeAt = version === null ? null : versionTime(version);
    // Indexes lag their table: a scope read right after an ownership write may miss it.
    if (version !== null && madeAt !== null && readAt - madeAt >= this.indexLagMs) {
      if (this.scopes.size >= this.maxScopes) {
        const oldest = this.scopes.keys().next();
        if (!oldest.done) this.scopes.delete(oldest.value);
      }
      this.scopes.delete(callerKey);
      this.scopes.set(callerKey, { version, readAt, scope });
    }
    return scope;
  }
}

/**
 * The list function's cache from its environment: on unless `READ_CACHE_MAX_AGE_SECONDS` is 0
 * (then every list reads everything), entries kept at most that long (default 900).
 */
export function readCacheFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  now: () => number,
): InventoryReadCache | undefined {
  const raw = env.READ_CACHE_MAX_AGE_SECONDS;
  if (raw === undefined || raw === '') return new InventoryReadCache({ now });
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) {
    throw new RangeError(`READ_CACHE_MAX_AGE_SECONDS must be an integer from 0 to 86400, got "${raw}"`);
  }
  return seconds === 0 ? undefined : new InventoryReadCache({ now, maxAgeMs: seconds * 1000 });
}

import * as z from 'zod';

/**
 * Runtime stats that change on every quick sync (CPU and memory use) are stored compactly per
 * cluster and node in `SyncState` items (`pk = CLUSTER#<id>`, `sk = RUNTIME#<node>#<chunk>`), as a
 * map vmid → [cpu %, memory %], and merged into the VM records at read time. A write costs one unit
 * per started KB, so ~1,000 guests in a ~15 KB item cost ~15 units per pass instead of 1,000.
 *
 * Uptime is not kept here: it grows every pass and would force a rewrite; it is derived from the
 * VM item's `boot_time`.
 */

/** Entries per chunk: ~15 bytes each, so a full chunk stays ~30 KB, far under the 400 KB item limit. */
export const RUNTIME_CHUNK_MAX_ENTRIES = 2000;

/** Percentages are kept with one decimal: finer values would change (and cost a write) every pass. */
export function roundUsage(percent: number): number {
  if (!Number.isFinite(percent) || percent < 0) return 0;
  return Math.round(percent * 10) / 10;
}

/** One guest's runtime sample: CPU use (% of its CPUs) and memory use (% of its memory). */
export interface RuntimeSample {
  cpu_usage: number;
  memory_usage: number;
}

/** Stored tuple [cpu %, memory %]. */
export const RuntimeTupleSchema = z.tuple([z.number().nonnegative(), z.number().nonnegative()]);
export type RuntimeTuple = z.infer<typeof RuntimeTupleSchema>;

/** One stored runtime chunk (a `SyncState` item). */
export const RuntimeChunkSchema = z.object({
  cluster_id: z.string().min(1),
  node: z.string().min(1),
  /** 0-based index of this chunk within the node's set */
  chunk: z.number().int().nonnegative(),
  /** how many chunks the node's set had when this chunk was written */
  chunk_count: z.number().int().positive(),
  /** epoch ms when the observation that wrote the set started */
  observed_at: z.number().int().nonnegative(),
  /** vmid (as a string: DynamoDB map keys are strings) → [cpu %, memory %] */
  stats: z.record(z.string().regex(/^\d+$/), RuntimeTupleSchema),
});
export type RuntimeChunk = z.infer<typeof RuntimeChunkSchema>;

/** A node's runtime stats, merged from its chunks. */
export interface NodeRuntime {
  node: string;
  observed_at: number;
  chunk_count: number;
  stats: Map<number, RuntimeSample>;
}

/** A cluster's runtime stats by node. */
export type ClusterRuntime = Map<string, NodeRuntime>;

/** Converts samples to their stored, rounded tuples, split into chunks ordered by vmid. */
export function chunkRuntimeStats(
  stats: ReadonlyMap<number, RuntimeSample>,
  maxEntries = RUNTIME_CHUNK_MAX_ENTRIES,
): Record<string, RuntimeTuple>[] {
  const vmids = [...stats.keys()].sort((a, b) => a - b);
  const chunks: Record<string, RuntimeTuple>[] = [];
  for (let start = 0; start < vmids.length; start += maxEntries) {
    const chunk: Record<string, RuntimeTuple> = {};
    for (const vmid of vmids.slice(start, start + maxEntries)) {
      const sample = stats.get(vmid);
      if (sample) chunk[String(vmid)] = [roundUsage(sample.cpu_usage), roundUsage(sample.memory_usage)];
    }
    chunks.push(chunk);
  }
  // An empty node still gets one (empty) chunk, so readers see that it was observed.
  return chunks.length > 0 ? chunks : [{}];
}

/**
 * Merges stored chunks into per-node stats. Only the chunks of a node's newest set count
 * (same `observed_at`, index below its `chunk_count`): leftovers of an older, larger set are ignored.
 */
export function mergeRuntimeChunks(chunks: readonly RuntimeChunk[]): ClusterRuntime {
  const newest = new Map<string, RuntimeChunk>();
  for (const chunk of chunks) {
    const current = newest.get(chunk.node);
    if (!current || chunk.observed_at > current.observed_at) newest.set(chunk.node, chunk);
  }
  const result: ClusterRuntime = new Map();
  for (const [node, reference] of newest) {
    const stats = new Map<number, RuntimeSample>();
    for (const chunk of chunks) {
      if (chunk.node !== node || chunk.observed_at !== reference.observed_at) continue;
      if (chunk.chunk >= reference.chunk_count) continue;
      for (const [vmid, [cpu, mem]] of Object.entries(chunk.stats)) {
        stats.set(Number(vmid), { cpu_usage: cpu, memory_usage: mem });
      }
    }
    result.set(node, { node, observed_at: reference.observed_at, chunk_count: reference.chunk_count, stats });
  }
  return result;
}

/**
 * A guest's runtime sample: from its own node's chunk first; otherwise (it just migrated) from the
 * most recently observed node that lists it.
 */
export function findRuntimeSample(
  runtime: ClusterRuntime,
  vm: { vmid: number; node: string },
): RuntimeSample | undefined {
  const own = runtime.get(vm.node)?.stats.get(vm.vmid);
  if (own) return own;
  let best: { at: number; sample: RuntimeSample } | undefined;
  for (const nodeRuntime of runtime.values()) {
    const sample = nodeRuntime.stats.get(vm.vmid);
    if (sample && (!best || nodeRuntime.observed_at > best.at))
      best = { at: nodeRuntime.observed_at, sample };
  }
  return best?.sample;
}

/**
 * True when two sets of samples store the same rounded values: the sync writes a node's chunks only
 * when this is false.
 */
export function runtimeStatsEqual(
  a: ReadonlyMap<number, RuntimeSample>,
  b: ReadonlyMap<number, RuntimeSample>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [vmid, sample] of a) {
    const other = b.get(vmid);
    if (!other) return false;
    if (roundUsage(sample.cpu_usage) !== roundUsage(other.cpu_usage)) return false;
    if (roundUsage(sample.memory_usage) !== roundUsage(other.memory_usage)) return false;
  }
  return true;
}

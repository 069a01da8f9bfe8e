import * as z from 'zod';

/**
 * Runtime stats that change on every quick sync (CPU and memory use) are stored compactly, one
 * `SyncState` item per cluster (`pk = CLUSTER#<id>`, `sk = RUNTIMESET#<chunk>`): every node's
 * samples packed in a Binary attribute (layout in runtime-pack.ts), merged into the VM records at
 * read time. A write costs one unit per started KB: the reference fleet's ~200 guests of a cluster
 * take ~550 bytes, so a pass that moved a cluster's values costs one unit for it, and a cluster
 * whose rounded values did not move writes nothing. Only very large clusters are split into
 * several items (chunks) of {@link RUNTIME_CHUNK_MAX_ENTRIES} samples each.
 *
 * Each node keeps its own `observed_at` inside the set (the time its samples last changed), which
 * the cluster state repeats as `runtime_at` for the read cache; the set as a whole has its own
 * `observed_at`, which tells its chunks from leftovers of an older, larger set.
 *
 * The previous format (one item per node, `sk = RUNTIME#<node>#<chunk>`, a map vmid → tuple) is
 * read only by the sync, before the first write of the new format, which deletes those items.
 *
 * Uptime is not kept here: it grows every pass and would force a rewrite; it is derived from the
 * VM item's `boot_time`.
 */

/** Samples per chunk: ~21 bits each, so a full chunk stays ~25 KB, far under the 400 KB item limit. */
export const RUNTIME_CHUNK_MAX_ENTRIES = 10_000;

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

/** One runtime chunk of the previous, per-node format (read for the migration only). */
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

/** A node's runtime stats. */
export interface NodeRuntime {
  node: string;
  /** when the node's stored samples last changed (epoch ms; never shared by two sets of a node) */
  observed_at: number;
  stats: Map<number, RuntimeSample>;
}

/** A cluster's runtime stats by node. */
export type ClusterRuntime = Map<string, NodeRuntime>;

/**
 * Merges chunks of the previous, per-node format into per-node stats. Only the chunks of a node's newest set count
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
    result.set(node, { node, observed_at: reference.observed_at, stats });
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

/**
 * The runtime set a pass stores: the previous set with the rewritten nodes replaced and the nodes
 * that left dropped (a node not rewritten keeps its samples and time); null when nothing changed.
 */
export function nextRuntimeSet(
  previous: ClusterRuntime,
  writes: readonly { node: string; stats: ReadonlyMap<number, RuntimeSample>; observedAt: number }[],
  deletes: readonly string[],
): ClusterRuntime | null {
  if (writes.length === 0 && deletes.length === 0) return null;
  const next: ClusterRuntime = new Map(previous);
  for (const node of deletes) next.delete(node);
  for (const write of writes) {
    const stats = new Map<number, RuntimeSample>();
    for (const [vmid, sample] of write.stats) {
      stats.set(vmid, {
        cpu_usage: roundUsage(sample.cpu_usage),
        memory_usage: roundUsage(sample.memory_usage),
      });
    }
    next.set(write.node, { node: write.node, observed_at: write.observedAt, stats });
  }
  return next;
}

/**
 * A new set's time: the listing's, or one millisecond after the set it replaces when that one is
 * not older (two passes in the same millisecond), so two sets never share a time.
 */
export function nextRuntimeSetTime(listingAt: number, previousAt: number | null | undefined): number {
  return Math.max(listingAt, (previousAt ?? -1) + 1);
}

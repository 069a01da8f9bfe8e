import * as z from 'zod';

/**
 * Metrics history: each running guest's CPU and memory use over time, from the samples the quick
 * sync already reads (`/cluster/resources`, zero extra Proxmox calls).
 *
 * Kept per node and time bucket, never per VM and sample, and stored one item per cluster and
 * bucket: one per minute (kept 24 h) and one per quarter hour (kept 14 days), each holding every
 * node's guests packed in binary (history-pack.ts; DynamoDB bills by the started kilobyte, so one
 * full item costs less than one nearly empty item per node). Each item is put once and never
 * updated: DynamoDB bills an update on the whole item, so growing an item in place would cost its
 * full size at every sample.
 *
 * Values are percentages (CPU: of the guest's CPUs; memory: of its memory), stored as integer
 * tenths of a percent. Items written before the packed format (one per node, guests as a string:
 * `vmid:cpu_avg:mem_avg` when the maxima equal the averages, else
 * `vmid:cpu_avg:mem_avg:cpu_max:mem_max`, entries separated by commas) are read until they expire.
 */

/** The two resolutions kept. */
export type HistoryResolution = '1m' | '15m';

export const MINUTE_MS = 60_000;
export const QUARTER_MS = 15 * MINUTE_MS;

/** Bucket width of each resolution (ms). */
export const RESOLUTION_MS: Readonly<Record<HistoryResolution, number>> = {
  '1m': MINUTE_MS,
  '15m': QUARTER_MS,
};

/**
 * How long items are kept (TTL, cleanup only: readers bound their range by the sort key). Minute
 * items live an hour longer than the 24 h they serve, so the quarter aggregate can still read them.
 */
export const HISTORY_RETENTION_MS: Readonly<Record<HistoryResolution, number>> = {
  '1m': 25 * 3600_000,
  '15m': 15 * 24 * 3600_000,
};

/** The longest range each resolution serves. */
export const HISTORY_SPAN_MS: Readonly<Record<HistoryResolution, number>> = {
  '1m': 24 * 3600_000,
  '15m': 14 * 24 * 3600_000,
};

/** One guest's values in one bucket, in percent (one decimal). */
export interface HistoryValues {
  cpu_avg: number;
  cpu_max: number;
  mem_avg: number;
  mem_max: number;
}

/** One node's bucket: every guest that ran on the node during it. */
export interface HistoryBucket {
  cluster_id: string;
  node: string;
  resolution: HistoryResolution;
  /** bucket start, epoch ms (a multiple of the resolution) */
  t: number;
  /** samples aggregated into the bucket (quick passes for a minute, minutes for a quarter) */
  samples: number;
  guests: Map<number, HistoryValues>;
}

/** One point of a VM's history, as the reader port and the API return it. */
export interface VmHistorySample extends HistoryValues {
  /** bucket start, epoch ms */
  t: number;
}

/** Start of the bucket of `ms` at a resolution. */
export function bucketStart(ms: number, resolution: HistoryResolution): number {
  const width = RESOLUTION_MS[resolution];
  return Math.floor(ms / width) * width;
}

const toTenths = (percent: number): number =>
  Number.isFinite(percent) && percent > 0 ? Math.round(percent * 10) : 0;

/** Encodes a bucket's guests (ordered by vmid) into the stored string. */
export function encodeHistoryGuests(guests: ReadonlyMap<number, HistoryValues>): string {
  const parts: string[] = [];
  for (const vmid of [...guests.keys()].sort((a, b) => a - b)) {
    const v = guests.get(vmid);
    if (!v) continue;
    const cpu = toTenths(v.cpu_avg);
    const mem = toTenths(v.mem_avg);
    const cpuMax = Math.max(cpu, toTenths(v.cpu_max));
    const memMax = Math.max(mem, toTenths(v.mem_max));
    parts.push(
      cpuMax === cpu && memMax === mem
        ? `${vmid}:${cpu}:${mem}`
        : `${vmid}:${cpu}:${mem}:${cpuMax}:${memMax}`,
    );
  }
  return parts.join(',');
}

/** The stored string's grammar (validated when read back). */
export const HISTORY_GUESTS_PATTERN = /^(?:\d+:\d+:\d+(?::\d+:\d+)?(?:,\d+:\d+:\d+(?::\d+:\d+)?)*)?$/;

/** Decodes the stored string (validated by {@link HISTORY_GUESTS_PATTERN}). */
export function decodeHistoryGuests(encoded: string): Map<number, HistoryValues> {
  const guests = new Map<number, HistoryValues>();
  if (encoded === '') return guests;
  for (const entry of encoded.split(',')) {
    const [vmid, cpu, mem, cpuMax, memMax] = entry.split(':').map(Number);
    if (vmid === undefined || cpu === undefined || mem === undefined) continue;
    guests.set(vmid, {
      cpu_avg: cpu / 10,
      mem_avg: mem / 10,
      cpu_max: (cpuMax ?? cpu) / 10,
      mem_max: (memMax ?? mem) / 10,
    });
  }
  return guests;
}

/**
 * A stored history item as written before the packed format: one node's bucket, its guests as a
 * string (read until they expire; nothing writes them any more).
 */
export const LegacyHistoryItemSchema = z.object({
  pk: z.string().min(1),
  sk: z.string().min(1),
  node: z.string().min(1),
  t: z.number().int().nonnegative(),
  /** samples aggregated */
  n: z.number().int().positive(),
  /** the guests, encoded */
  g: z.string().regex(HISTORY_GUESTS_PATTERN),
  expires_at: z.number().int().positive(),
});

/** A stored history item (a `SyncState` item, see `historyKeys`): every node of a cluster at one bucket. */
export const PackedHistoryItemSchema = z.object({
  pk: z.string().min(1),
  sk: z.string().min(1),
  t: z.number().int().nonnegative(),
  /** the nodes and their guests, see history-pack.ts */
  p: z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'not binary'),
  expires_at: z.number().int().positive(),
});
export type PackedHistoryItem = z.infer<typeof PackedHistoryItemSchema>;

export const HistoryItemSchema = z.union([PackedHistoryItemSchema, LegacyHistoryItemSchema]);
export type HistoryItem = z.infer<typeof HistoryItemSchema>;

/** One guest's CPU and memory use at one observation (percent). */
export interface GuestUsage {
  vmid: number;
  node: string;
  cpu: number;
  mem: number;
}

/**
 * The minute buckets of one quick pass: per node, each running guest's values over this pass's
 * sample and, when given, the previous pass's (`previous`: vmid → [cpu %, mem %]).
 */
export function minuteBuckets(
  clusterId: string,
  observedAt: number,
  current: readonly GuestUsage[],
  previous: ReadonlyMap<number, { cpu: number; mem: number }>,
): HistoryBucket[] {
  const t = bucketStart(observedAt, '1m');
  const byNode = new Map<string, HistoryBucket>();
  for (const usage of current) {
    let bucket = byNode.get(usage.node);
    if (!bucket) {
      bucket = {
        cluster_id: clusterId,
        node: usage.node,
        resolution: '1m',
        t,
        samples: 1,
        guests: new Map(),
      };
      byNode.set(usage.node, bucket);
    }
    const before = previous.get(usage.vmid);
    if (before) bucket.samples = 2;
    bucket.guests.set(
      usage.vmid,
      before
        ? {
            cpu_avg: (usage.cpu + before.cpu) / 2,
            cpu_max: Math.max(usage.cpu, before.cpu),
            mem_avg: (usage.mem + before.mem) / 2,
            mem_max: Math.max(usage.mem, before.mem),
          }
        : { cpu_avg: usage.cpu, cpu_max: usage.cpu, mem_avg: usage.mem, mem_max: usage.mem },
    );
  }
  return [...byNode.values()];
}

/**
 * Aggregates minute buckets into quarter-hour buckets per node: the average of the minute
 * averages (over the minutes the guest ran) and the maximum of the minute maxima.
 */
export function aggregateQuarter(minutes: readonly HistoryBucket[], quarterStart: number): HistoryBucket[] {
  const byNode = new Map<string, { minutes: number; sums: Map<number, HistoryValues & { n: number }> }>();
  for (const minute of minutes) {
    if (bucketStart(minute.t, '15m') !== quarterStart) continue;
    let node = byNode.get(minute.node);
    if (!node) {
      node = { minutes: 0, sums: new Map() };
      byNode.set(minute.node, node);
    }
    node.minutes++;
    for (const [vmid, v] of minute.guests) {
      const sum = node.sums.get(vmid);
      if (!sum) {
        node.sums.set(vmid, { ...v, n: 1 });
        continue;
      }
      sum.n++;
      sum.cpu_avg += v.cpu_avg;
      sum.mem_avg += v.mem_avg;
      sum.cpu_max = Math.max(sum.cpu_max, v.cpu_max);
      sum.mem_max = Math.max(sum.mem_max, v.mem_max);
    }
  }
  const clusterId = minutes[0]?.cluster_id ?? '';
  return [...byNode].map(([node, { minutes: count, sums }]) => ({
    cluster_id: clusterId,
    node,
    resolution: '15m' as const,
    t: quarterStart,
    samples: count,
    guests: new Map(
      [...sums].map(([vmid, s]) => [
        vmid,
        { cpu_avg: s.cpu_avg / s.n, mem_avg: s.mem_avg / s.n, cpu_max: s.cpu_max, mem_max: s.mem_max },
      ]),
    ),
  }));
}

/**
 * One VM's series from a cluster's buckets, whatever node it was on (a VM that migrated shows in
 * the buckets of both nodes; were it in two buckets of one time, the two are merged). Optionally
 * limited to one node. Sorted by time.
 */
export function vmSeries(buckets: readonly HistoryBucket[], vmid: number, node?: string): VmHistorySample[] {
  const byTime = new Map<number, VmHistorySample>();
  for (const bucket of buckets) {
    if (node !== undefined && bucket.node !== node) continue;
    const v = bucket.guests.get(vmid);
    if (!v) continue;
    const seen = byTime.get(bucket.t);
    byTime.set(
      bucket.t,
      seen
        ? {
            t: bucket.t,
            cpu_avg: round1((seen.cpu_avg + v.cpu_avg) / 2),
            mem_avg: round1((seen.mem_avg + v.mem_avg) / 2),
            cpu_max: Math.max(seen.cpu_max, v.cpu_max),
            mem_max: Math.max(seen.mem_max, v.mem_max),
          }
        : { t: bucket.t, ...v },
    );
  }
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Where the reader gets a cluster's buckets (the DynamoDB adapter, or a fake in tests). */
export interface HistoryBucketSource {
  /** Every node's buckets of a cluster at a resolution whose start lies in [fromMs, toMs]. */
  queryBuckets(
    clusterId: string,
    resolution: HistoryResolution,
    fromMs: number,
    toMs: number,
  ): Promise<HistoryBucket[]>;
}

/** What {@link readVmHistory} reads. */
export interface VmHistoryQuery {
  cluster: string;
  vmid: number;
  /** only the buckets of this node (default: every node the VM ran on) */
  node?: string;
  /** epoch ms, inclusive: buckets that start in [from, to] */
  from: number;
  to: number;
  resolution: HistoryResolution;
}

/**
 * The reader port: one VM's CPU and memory history, oldest first, whatever node the VM was on
 * (one Query of the cluster's buckets for the range). Minutes or quarters the VM did not run (or
 * no quick pass observed) are absent, not zero. Values are percent, one decimal.
 */
export async function readVmHistory(
  source: HistoryBucketSource,
  query: VmHistoryQuery,
): Promise<VmHistorySample[]> {
  if (query.to < query.from) return [];
  const buckets = await source.queryBuckets(query.cluster, query.resolution, query.from, query.to);
  return vmSeries(buckets, query.vmid, query.node);
}

import {
  aggregateQuarter,
  bucketStart,
  type GuestUsage,
  HISTORY_SPAN_MS,
  MINUTE_MS,
  minuteBuckets,
  QUARTER_MS,
} from '#shared/domain/metrics-history.ts';
import type { ClusterRuntime } from '#shared/domain/runtime-stats.ts';
import { runtimeFromResource } from '#shared/proxmox/mapping.ts';
import type { GuestResource } from '#shared/proxmox/schemas.ts';
import type { MetricsHistoryRepository } from '#shared/store/ports.ts';

/**
 * The quick pass's part of the metrics history: from the listing it already read (zero extra
 * Proxmox calls) and the runtime stats it already loaded (the previous pass's samples).
 *
 * - The first pass of each minute puts that minute's buckets (every node's, packed into one item for
 *   the cluster by the repository): avg and max of
 *   its sample and the previous pass's, when that was less than a minute ago. Later passes of the
 *   same minute write nothing, so a 30 s cadence costs one put per cluster and minute, not two.
 * - The first pass of each quarter hour also aggregates the previous pass's quarter from its
 *   minute buckets (one Query) and puts the quarter's buckets (one item).
 */

/** What one pass hands over. */
export interface QuickPassObservation {
  clusterId: string;
  /** when this pass's listing was taken (epoch ms) */
  observedAt: number;
  /** the previous quick pass's start (the cluster state's `last_quick_sync_at`), null for the first */
  previousPassAt: number | null;
  guests: readonly GuestResource[];
  /** runtime stats as stored before this pass (the previous pass's samples) */
  previousRuntime: ClusterRuntime;
}

/** Items the history put (the engine's write breakdown counts them). */
export interface HistoryWrites {
  minute: number;
  quarter: number;
}

/** Running guests' usage from a listing (guests without stats, e.g. on an offline node, have none). */
export function usageFromListing(guests: readonly GuestResource[], observedAt: number): GuestUsage[] {
  const usage: GuestUsage[] = [];
  for (const row of guests) {
    if (row.status !== 'running') continue;
    const runtime = runtimeFromResource(row, observedAt);
    if (runtime.cpuUsage === null || runtime.memoryUsage === null) continue;
    usage.push({ vmid: row.vmid, node: row.node, cpu: runtime.cpuUsage, mem: runtime.memoryUsage });
  }
  return usage;
}

/** Records one quick pass into the history (see the module comment for what it writes when). */
export async function recordQuickPassHistory(
  history: MetricsHistoryRepository,
  pass: QuickPassObservation,
): Promise<HistoryWrites> {
  const { observedAt, previousPassAt } = pass;
  const minute = bucketStart(observedAt, '1m');
  if (previousPassAt !== null && bucketStart(previousPassAt, '1m') === minute)
    return { minute: 0, quarter: 0 };

  const previous = new Map<number, { cpu: number; mem: number }>();
  if (previousPassAt !== null && observedAt - previousPassAt < MINUTE_MS) {
    for (const node of pass.previousRuntime.values()) {
      for (const [vmid, sample] of node.stats) {
        previous.set(vmid, { cpu: sample.cpu_usage, mem: sample.memory_usage });
      }
    }
  }
  const minutes = minuteBuckets(
    pass.clusterId,
    observedAt,
    usageFromListing(pass.guests, observedAt),
    previous,
  );
  const writes: HistoryWrites = { minute: (await history.putBuckets(minutes)).writes, quarter: 0 };

  if (previousPassAt === null) return writes;
  const lastQuarter = bucketStart(previousPassAt, '15m');
  // Only a quarter whose minutes are still kept can be aggregated.
  if (lastQuarter === bucketStart(observedAt, '15m') || observedAt - lastQuarter > HISTORY_SPAN_MS['1m']) {
    return writes;
  }
  const stored = await history.queryBuckets(pass.clusterId, '1m', lastQuarter, lastQuarter + QUARTER_MS - 1);
  const quarters = aggregateQuarter(stored, lastQuarter);
  if (quarters.length > 0) writes.quarter = (await history.putBuckets(quarters)).writes;
  return writes;
}

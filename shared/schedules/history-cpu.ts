import { type HistoryBucketSource, vmSeries } from '#shared/domain/metrics-history.ts';
import type { CpuMinute } from './plan.ts';
import type { CpuHistoryPort } from './ports.ts';

/**
 * The idle rule's CPU history from the metrics history the quick sync records: one query of a
 * cluster's minute buckets for the window, each VM's minutes taken from it (whatever node it ran
 * on). Never a Proxmox call.
 */
export function historyCpuPort(source: HistoryBucketSource): CpuHistoryPort {
  return {
    async cpuMinutes(clusterId, vmids, fromMs, toMs) {
      const buckets = await source.queryBuckets(clusterId, '1m', fromMs, toMs);
      const out = new Map<number, CpuMinute[]>();
      for (const vmid of vmids) {
        out.set(
          vmid,
          vmSeries(buckets, vmid).map((sample) => ({ t: sample.t, cpu_max: sample.cpu_max })),
        );
      }
      return out;
    },
  };
}

import type { CpuMinute } from './plan.ts';

/**
 * What the class schedules read beyond the table: the VMs' CPU history (from the metrics history
 * the quick sync records: never a Proxmox call). Alerts go through the alerting's `PublishAlert`.
 */

/** The CPU history of a cluster's VMs, minute by minute. */
export interface CpuHistoryPort {
  /** For each VMID asked, its minutes in [fromMs, toMs] (absent minutes: not observed), oldest first. */
  cpuMinutes(
    clusterId: string,
    vmids: readonly number[],
    fromMs: number,
    toMs: number,
  ): Promise<Map<number, CpuMinute[]>>;
}

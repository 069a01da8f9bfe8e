import type { CpuMinute } from './plan.ts';

/**
 * The two things the class schedules read or tell beyond the table: the VMs' CPU history (from the
 * metrics history the quick sync records: never a Proxmox call) and alerts for admins.
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

/** An alert for admins: a scheduled action that failed. */
export interface ScheduledActionAlert {
  readonly kind: 'scheduled_action_failed';
  readonly class_id: string;
  readonly action: string;
  readonly failed: readonly {
    readonly cluster_id: string;
    readonly vmid: number;
    readonly reason: string | null;
  }[];
  /** epoch ms */
  readonly at: number;
}

/** Where alerts go (the alerting's `publishAlert`). */
export interface AlertPort {
  publishAlert(alert: ScheduledActionAlert): Promise<void>;
}

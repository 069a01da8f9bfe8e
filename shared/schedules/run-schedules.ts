import { actionFailedAlert, publishActionFailedSafely } from '#shared/actions/action-alerts.ts';
import { type BulkActionDeps, runBulkAction } from '#shared/actions/bulk-action.ts';
import type { PublishAlert } from '#shared/alerts/alerts.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { recordAuditSafely } from '#shared/audit/audit-port.ts';
import type { PendingAction, VmKey } from '#shared/domain/vm-record.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { InventoryRepository, OwnershipRepository } from '#shared/store/ports.ts';
import {
  CLASS_SCHEDULES_PERIOD_MINUTES,
  type ClassSchedule,
  type ClassScheduleStore,
  scheduleActor,
} from './class-schedule.ts';
import { type CpuMinute, type PlanSettings, planSchedule, type ShutdownReason } from './plan.ts';
import type { CpuHistoryPort } from './ports.ts';

/**
 * The one scheduled evaluation of every class's schedule (EventBridge Scheduler every 5 minutes on
 * AWS, the local runner on one machine): per class, claims the window since its last evaluation
 * (so a time fires once, whichever run gets there), plans, and acts through the bulk action with
 * the schedule as the actor (`schedule:<class id>`), every VM audited; idle warnings are written on
 * the VMs' items, where the API shows them. Each action whose run had failed VMs (Proxmox
 * unreachable or answering the power call with an error) raises one `action_failed` alert (source
 * `schedule`, or `idle_rule` for idle shutdowns); publishing never fails the run.
 */

/** Settings of the evaluation (see README "Class schedules"). */
export interface ScheduleRunSettings extends PlanSettings {
  /** the evaluation period: the first window of a schedule is this long */
  readonly periodMs: number;
  /** a window never reaches further back than this (a missed time is not caught up later) */
  readonly maxCatchUpMs: number;
}

export const DEFAULT_SCHEDULE_SETTINGS: ScheduleRunSettings = {
  periodMs: CLASS_SCHEDULES_PERIOD_MINUTES * 60_000,
  maxCatchUpMs: 15 * 60_000,
  userGraceMs: 30 * 60_000,
  idleWarningMs: 10 * 60_000,
  historyFreshMs: 5 * 60_000,
};

export interface ScheduleRunDeps {
  readonly schedules: ClassScheduleStore;
  readonly ownership: Pick<OwnershipRepository, 'getClass'>;
  readonly inventory: Pick<InventoryRepository, 'getVms' | 'setIdleWarning'>;
  readonly bulk: Pick<BulkActionDeps, 'actionService' | 'workerLimit' | 'logger' | 'vmWaitMs' | 'budgetMs'>;
  readonly cpuHistory?: CpuHistoryPort | undefined;
  readonly audit?: AuditPort | undefined;
  /** the admin alerts (`action_failed`); none when absent */
  readonly publishAlert?: PublishAlert | undefined;
  readonly now?: () => number;
  readonly settings?: Partial<ScheduleRunSettings>;
}

/** What one class's evaluation did. */
export interface ClassRunSummary {
  readonly class_id: string;
  /** false when another run had evaluated this window already */
  readonly evaluated: boolean;
  readonly started: number;
  readonly shut_down: number;
  readonly skipped: number;
  readonly warned: number;
  readonly failed: number;
}

/** The audit action of each scheduled action. */
const AUDIT_ACTION: Record<'start' | ShutdownReason, string> = {
  start: 'scheduledStart',
  shutdown_time: 'scheduledShutdown',
  max_uptime: 'maxUptimeShutdown',
  idle: 'idleShutdown',
};

/** Reads the CPU history of the VMs, one read per cluster, keyed `cluster#vmid`. */
async function readCpu(
  port: CpuHistoryPort | undefined,
  keys: readonly VmKey[],
  from: number,
  to: number,
): Promise<Map<string, CpuMinute[]>> {
  const out = new Map<string, CpuMinute[]>();
  if (port === undefined || keys.length === 0) return out;
  const byCluster = new Map<string, number[]>();
  for (const key of keys) byCluster.set(key.cluster_id, [...(byCluster.get(key.cluster_id) ?? []), key.vmid]);
  for (const [clusterId, vmids] of byCluster) {
    const minutes = await port.cpuMinutes(clusterId, vmids, from, to);
    for (const [vmid, series] of minutes) out.set(`${clusterId}#${vmid}`, series);
  }
  return out;
}

/** Evaluates one class's schedule for the window up to `now`. */
export async function runClassSchedule(
  deps: ScheduleRunDeps,
  schedule: ClassSchedule,
  now: number,
): Promise<ClassRunSummary> {
  const settings = { ...DEFAULT_SCHEDULE_SETTINGS, ...deps.settings };
  const classId = schedule.class_id;
  const none = { class_id: classId, started: 0, shut_down: 0, skipped: 0, warned: 0, failed: 0 };
  const previous = schedule.evaluated_until;
  const from = Math.max(previous ?? now - settings.periodMs, now - settings.maxCatchUpMs);
  if (previous !== null && previous >= now) return { ...none, evaluated: false };
  if (!(await deps.schedules.claimWindow(classId, previous, now))) return { ...none, evaluated: false };

  const details = await deps.ownership.getClass(classId);
  if (details === null) {
    // the class was deleted: its schedule goes with it
    await deps.schedules.deleteSchedule(classId);
    return { ...none, evaluated: true };
  }
  const keys = details.vms
    .filter((link) => !link.suspended)
    .map((link) => ({ cluster_id: link.cluster_id, vmid: link.vmid }));
  const vms = keys.length === 0 ? [] : await deps.inventory.getVms(keys, { consistentRead: true });
  const idle = schedule.idle?.enabled === true ? schedule.idle : null;
  const cpu =
    idle === null
      ? new Map<string, CpuMinute[]>()
      : await readCpu(
          deps.cpuHistory,
          vms.filter((vm) => vm.status === 'running'),
          now - (idle.minutes + 5) * 60_000 - settings.idleWarningMs,
          now,
        );
  const plan = planSchedule({ schedule, vms, from, now, cpu, settings });

  const caller: Caller = { username: scheduleActor(classId), roles: { admin: true, teacher: false } };
  /** VMs refused or failed (the summary's count; alerts only count failures, see action-alerts) */
  let failed = 0;
  const act = async (
    action: PendingAction,
    auditAction: string,
    targets: VmKey[],
    source: 'schedule' | 'idle_rule',
  ) => {
    if (targets.length === 0) return [];
    const requestId = `${classId}@${now}:${auditAction}`;
    const lines = await runBulkAction(
      { ...deps.bulk, inventory: deps.inventory, audit: deps.audit, now: deps.now },
      { caller, action, targets, requestId, classId, auditAction },
    );
    failed += lines.filter((line) => line.outcome === 'failed' || line.outcome === 'refused').length;
    await publishActionFailedSafely(
      deps.publishAlert,
      actionFailedAlert(lines, { source, action, reference: requestId, classId }),
      deps.bulk.logger,
    );
    return lines;
  };
  const started = await act('start', AUDIT_ACTION.start, plan.start, 'schedule');
  let shutDown = 0;
  for (const reason of ['shutdown_time', 'max_uptime', 'idle'] as const) {
    const targets = plan.shutdown.filter((entry) => entry.reason === reason).map((entry) => entry.key);
    const source = reason === 'idle' ? 'idle_rule' : 'schedule';
    const lines = await act('shutdown', AUDIT_ACTION[reason], targets, source);
    shutDown += lines.filter((line) => line.outcome === 'done' || line.outcome === 'pending').length;
  }
  if (deps.audit !== undefined) {
    for (const { key, reason } of plan.skipped) {
      await recordAuditSafely(
        deps.audit,
        {
          at: now,
          actor: caller.username,
          action: AUDIT_ACTION[reason],
          target: { ...key, class_id: classId, operation: 'shutdown' },
          result: 'refused',
          status: 0,
          error_code: 'recently_started',
          request_id: `${classId}@${now}:skip#${key.cluster_id}#${key.vmid}`,
        },
        deps.bulk.logger ?? { error: () => {} },
      );
    }
  }
  for (const { key, at } of plan.warn) await deps.inventory.setIdleWarning(key, at);
  for (const key of plan.clearWarning) await deps.inventory.setIdleWarning(key, null);

  return {
    class_id: classId,
    evaluated: true,
    started: started.filter((line) => line.outcome === 'done' || line.outcome === 'pending').length,
    shut_down: shutDown,
    skipped: plan.skipped.length,
    warned: plan.warn.length,
    failed,
  };
}

/** Evaluates every class's schedule (one class failing never stops the others). */
export async function runClassSchedules(deps: ScheduleRunDeps): Promise<ClassRunSummary[]> {
  const now = (deps.now ?? Date.now)();
  const schedules = await deps.schedules.listSchedules();
  const summaries: ClassRunSummary[] = [];
  for (const schedule of schedules) {
    try {
      summaries.push(await runClassSchedule(deps, schedule, now));
    } catch (error) {
      deps.bulk.logger?.error('Class schedule failed', {
        class_id: schedule.class_id,
        error: error instanceof Error ? error.message : 'unknown',
      });
      summaries.push({
        class_id: schedule.class_id,
        evaluated: false,
        started: 0,
        shut_down: 0,
        skipped: 0,
        warned: 0,
        failed: 1,
      });
    }
  }
  return summaries;
}

import { PENDING_ACTION_EXPIRY_MS } from '#shared/domain/to-api-vm.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import type { ClassSchedule } from './class-schedule.ts';
import { cronFiresIn, parseCron } from './cron.ts';

/**
 * What one evaluation of a class's schedule decides, pure: from the schedule, the class's VMs as
 * the table holds them, the evaluation window and the VMs' CPU history. Never fights a user: a VM
 * that booted less than `userGraceMs` ago is shut down neither by the shutdown time (it is
 * reported skipped) nor by the idle rule.
 */

/** One minute of a VM's CPU history (percent of its CPUs; the minute's highest sample). */
export interface CpuMinute {
  /** minute start, epoch ms */
  readonly t: number;
  readonly cpu_max: number;
}

/** Why a VM is shut down. */
export type ShutdownReason = 'shutdown_time' | 'max_uptime' | 'idle';

/** Settings of the evaluation. */
export interface PlanSettings {
  /** a VM booted this recently is never shut down by a schedule */
  readonly userGraceMs: number;
  /** the idle warning shows at least this long before the idle shutdown */
  readonly idleWarningMs: number;
  /** history older than this (to now) is not enough to call a VM idle: no decision */
  readonly historyFreshMs: number;
}

export interface PlanInput {
  readonly schedule: ClassSchedule;
  readonly vms: readonly StoredVm[];
  /** the window evaluated: (from, now] */
  readonly from: number;
  readonly now: number;
  /** CPU history by `cluster#vmid` (only needed with the idle rule) */
  readonly cpu: ReadonlyMap<string, readonly CpuMinute[]>;
  readonly settings: PlanSettings;
}

export interface SchedulePlan {
  readonly start: VmKey[];
  readonly shutdown: { readonly key: VmKey; readonly reason: ShutdownReason }[];
  /** shutdowns not made because a user started the VM within the grace time */
  readonly skipped: { readonly key: VmKey; readonly reason: ShutdownReason }[];
  /** idle warnings to show: the VM is shut down at `at` unless it gets busy or a user keeps it running */
  readonly warn: { readonly key: VmKey; readonly at: number }[];
  /** idle warnings to remove */
  readonly clearWarning: VmKey[];
}

const MINUTE_MS = 60_000;

const keyOf = (vm: VmKey): VmKey => ({ cluster_id: vm.cluster_id, vmid: vm.vmid });

/** A user's (or another run's) action is under way on the VM: the schedule leaves it alone. */
const pendingLive = (vm: Pick<StoredVm, 'pending_since'>, now: number): boolean =>
  vm.pending_since !== undefined && now - vm.pending_since <= PENDING_ACTION_EXPIRY_MS;

/** The last time a cron fires in the window, or null. */
function lastFire(cron: string | null, timezone: string, from: number, now: number): number | null {
  if (cron === null) return null;
  return cronFiresIn(parseCron(cron), timezone, from, now).at(-1) ?? null;
}

/**
 * When the VM's idle shutdown is due: `minutes` after the end of its last busy minute (or after
 * the start of what the history shows, or the idle clock's start: boot, "keep running"), or null
 * when the history is too old to tell.
 */
export function idleDueAt(
  vm: Pick<StoredVm, 'boot_time' | 'idle_reset_at'>,
  history: readonly CpuMinute[],
  rule: { readonly cpu_below_percent: number; readonly minutes: number },
  now: number,
  historyFreshMs: number,
): number | null {
  const clockStart = Math.max(vm.boot_time ?? 0, vm.idle_reset_at ?? 0);
  const minutes = history.filter((m) => m.t >= clockStart).sort((a, b) => a.t - b.t);
  const latest = minutes.at(-1);
  const first = minutes[0];
  if (latest === undefined || first === undefined || now - latest.t > historyFreshMs) return null;
  const lastBusy = minutes.findLast((m) => m.cpu_max >= rule.cpu_below_percent);
  const idleSince = lastBusy === undefined ? Math.max(clockStart, first.t) : lastBusy.t + MINUTE_MS;
  return idleSince + rule.minutes * MINUTE_MS;
}

/** Decides what to do with each VM of the class in the window. */
export function planSchedule(input: PlanInput): SchedulePlan {
  const { schedule, now, from, settings } = input;
  const startAt = lastFire(schedule.start_cron, schedule.timezone, from, now);
  const stopAt = lastFire(schedule.shutdown_cron, schedule.timezone, from, now);
  // when both times passed in one window, the later one stands
  const startNow = startAt !== null && (stopAt === null || startAt > stopAt);
  const stopNow = stopAt !== null && !startNow;
  const plan: SchedulePlan = { start: [], shutdown: [], skipped: [], warn: [], clearWarning: [] };

  for (const vm of input.vms) {
    if (vm.is_template) continue;
    const key = keyOf(vm);
    const running = vm.status === 'running';
    const warned = vm.idle_shutdown_at !== undefined;
    if (!running) {
      if (warned) plan.clearWarning.push(key);
      if (startNow && vm.status === 'stopped' && !pendingLive(vm, now)) plan.start.push(key);
      continue;
    }
    if (pendingLive(vm, now)) continue;
    const recentlyStarted = vm.boot_time !== null && now - vm.boot_time < settings.userGraceMs;
    if (stopNow) {
      if (recentlyStarted) plan.skipped.push({ key, reason: 'shutdown_time' });
      else {
        plan.shutdown.push({ key, reason: 'shutdown_time' });
        if (warned) plan.clearWarning.push(key);
        continue;
      }
    }
    const maxUptimeMs = schedule.max_uptime_hours === null ? null : schedule.max_uptime_hours * 3_600_000;
    if (
      maxUptimeMs !== null &&
      vm.boot_time !== null &&
      now - vm.boot_time >= maxUptimeMs &&
      !recentlyStarted
    ) {
      plan.shutdown.push({ key, reason: 'max_uptime' });
      if (warned) plan.clearWarning.push(key);
      continue;
    }
    const rule = schedule.idle;
    if (rule === null || !rule.enabled || recentlyStarted) {
      if (warned) plan.clearWarning.push(key);
      continue;
    }
    const due = idleDueAt(
      vm,
      input.cpu.get(`${vm.cluster_id}#${vm.vmid}`) ?? [],
      rule,
      now,
      settings.historyFreshMs,
    );
    if (due === null || now < due - settings.idleWarningMs) {
      if (warned) plan.clearWarning.push(key);
      continue;
    }
    if (vm.idle_shutdown_at !== undefined && vm.idle_shutdown_at <= now) {
      plan.shutdown.push({ key, reason: 'idle' });
      plan.clearWarning.push(key);
    } else if (vm.idle_shutdown_at === undefined) {
      plan.warn.push({ key, at: Math.max(due, now + settings.idleWarningMs) });
    }
  }
  return plan;
}

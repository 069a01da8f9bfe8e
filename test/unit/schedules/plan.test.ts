import { describe, expect, it } from 'vitest';
import type { StoredVm } from '#shared/domain/vm-record.ts';
import type { ClassSchedule } from '#shared/schedules/class-schedule.ts';
import { type CpuMinute, idleDueAt, planSchedule } from '#shared/schedules/plan.ts';

const MINUTE = 60_000;
const NOW = Date.parse('2026-12-07T21:01:00Z');
const settings = { userGraceMs: 30 * MINUTE, idleWarningMs: 10 * MINUTE, historyFreshMs: 5 * MINUTE };

const schedule = (over: Partial<ClassSchedule> = {}): ClassSchedule => ({
  class_id: 'net',
  timezone: 'Europe/Berlin',
  start_cron: null,
  shutdown_cron: null,
  max_uptime_hours: null,
  idle: null,
  updated_by: 'carol',
  updated_at: 0,
  evaluated_until: null,
  ...over,
});

const vm = (vmid: number, over: Partial<StoredVm> = {}): StoredVm =>
  ({ cluster_id: 'lab', vmid, status: 'running', boot_time: null, is_template: false, ...over }) as StoredVm;

const minutes = (from: number, to: number, cpu: (t: number) => number): CpuMinute[] => {
  const out: CpuMinute[] = [];
  for (let t = from; t <= to; t += MINUTE) out.push({ t, cpu_max: cpu(t) });
  return out;
};

describe('planSchedule', () => {
  it('shuts running VMs down at the shutdown time (22:00 Berlin), skipping one a user just started', () => {
    const plan = planSchedule({
      schedule: schedule({ shutdown_cron: '0 22 * * *' }),
      vms: [vm(1), vm(2, { boot_time: NOW - 5 * MINUTE }), vm(3, { status: 'stopped' })],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: new Map(),
      settings,
    });
    expect(plan.shutdown).toEqual([{ key: { cluster_id: 'lab', vmid: 1 }, reason: 'shutdown_time' }]);
    expect(plan.skipped).toEqual([{ key: { cluster_id: 'lab', vmid: 2 }, reason: 'shutdown_time' }]);
    expect(plan.start).toEqual([]);
  });

  it('does nothing outside the window and leaves VMs with a pending action alone', () => {
    const outside = planSchedule({
      schedule: schedule({ shutdown_cron: '0 22 * * *' }),
      vms: [vm(1)],
      from: NOW,
      now: NOW + 4 * MINUTE,
      cpu: new Map(),
      settings,
    });
    expect(outside.shutdown).toEqual([]);
    const pending = planSchedule({
      schedule: schedule({ start_cron: '0 22 * * *' }),
      vms: [vm(1, { status: 'stopped', pending_action: 'start', pending_since: NOW - MINUTE })],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: new Map(),
      settings,
    });
    expect(pending.start).toEqual([]);
  });

  it('starts stopped VMs at the start time and never templates', () => {
    const plan = planSchedule({
      schedule: schedule({ start_cron: '0 22 * * *' }),
      vms: [vm(1, { status: 'stopped' }), vm(2, { status: 'stopped', is_template: true }), vm(3)],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: new Map(),
      settings,
    });
    expect(plan.start).toEqual([{ cluster_id: 'lab', vmid: 1 }]);
  });

  it('shuts a VM down after its maximum uptime', () => {
    const plan = planSchedule({
      schedule: schedule({ max_uptime_hours: 4 }),
      vms: [vm(1, { boot_time: NOW - 4 * 3_600_000 }), vm(2, { boot_time: NOW - 3 * 3_600_000 })],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: new Map(),
      settings,
    });
    expect(plan.shutdown).toEqual([{ key: { cluster_id: 'lab', vmid: 1 }, reason: 'max_uptime' }]);
  });

  it('warns before the idle shutdown, then shuts down once the warning time passed', () => {
    const idle = schedule({ idle: { enabled: true, cpu_below_percent: 5, minutes: 60 } });
    const history = new Map([['lab#1', minutes(NOW - 80 * MINUTE, NOW, () => 1)]]);
    const first = planSchedule({
      schedule: idle,
      vms: [vm(1)],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: history,
      settings,
    });
    expect(first.warn).toEqual([{ key: { cluster_id: 'lab', vmid: 1 }, at: NOW + 10 * MINUTE }]);
    expect(first.shutdown).toEqual([]);
    const later = planSchedule({
      schedule: idle,
      vms: [vm(1, { idle_shutdown_at: NOW + 10 * MINUTE })],
      from: NOW,
      now: NOW + 10 * MINUTE,
      cpu: new Map([['lab#1', minutes(NOW - 80 * MINUTE, NOW + 10 * MINUTE, () => 1)]]),
      settings,
    });
    expect(later.shutdown).toEqual([{ key: { cluster_id: 'lab', vmid: 1 }, reason: 'idle' }]);
  });

  it('removes the warning of a VM that got busy again', () => {
    const plan = planSchedule({
      schedule: schedule({ idle: { enabled: true, cpu_below_percent: 5, minutes: 60 } }),
      vms: [vm(1, { idle_shutdown_at: NOW + 5 * MINUTE })],
      from: NOW - 5 * MINUTE,
      now: NOW,
      cpu: new Map([['lab#1', minutes(NOW - 80 * MINUTE, NOW, (t) => (t >= NOW - 2 * MINUTE ? 50 : 1))]]),
      settings,
    });
    expect(plan.clearWarning).toEqual([{ cluster_id: 'lab', vmid: 1 }]);
    expect(plan.shutdown).toEqual([]);
  });
});

describe('idleDueAt', () => {
  const rule = { cpu_below_percent: 5, minutes: 60 };

  it('counts from the end of the last busy minute, from "keep running", and not without fresh history', () => {
    const series = minutes(NOW - 90 * MINUTE, NOW, (t) => (t === NOW - 30 * MINUTE ? 9 : 1));
    expect(idleDueAt({ boot_time: null }, series, rule, NOW, 5 * MINUTE)).toBe(
      NOW - 29 * MINUTE + 60 * MINUTE,
    );
    expect(
      idleDueAt({ boot_time: null, idle_reset_at: NOW - 10 * MINUTE }, series, rule, NOW, 5 * MINUTE),
    ).toBe(NOW - 10 * MINUTE + 60 * MINUTE);
    expect(
      idleDueAt(
        { boot_time: null },
        minutes(NOW - 90 * MINUTE, NOW - 20 * MINUTE, () => 1),
        rule,
        NOW,
        5 * MINUTE,
      ),
    ).toBeNull();
  });
});

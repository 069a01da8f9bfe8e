import * as z from 'zod';
import { ClassIdSchema } from '#shared/domain/ownership.ts';
import { assertTimeZone, CronSyntaxError, parseCron } from './cron.ts';

/**
 * A class's schedule: start its VMs at a time, shut them down at a time (five-field cron in an
 * IANA time zone), shut a VM down after N hours of uptime, and the idle rule (shut a running VM
 * down once its CPU stayed below X % for Y minutes, after a warning). One item per class, evaluated
 * every few minutes by the one class-schedules function.
 */

/** How often the one class-schedules function evaluates every class's schedule (AWS and local). */
export const CLASS_SCHEDULES_PERIOD_MINUTES = 5;

/** Defaults of the idle rule. */
export const DEFAULT_IDLE_CPU_PERCENT = 5;
export const DEFAULT_IDLE_MINUTES = 60;

const CronText = z
  .string()
  .trim()
  .max(100)
  .superRefine((text, ctx) => {
    try {
      parseCron(text);
    } catch (error) {
      if (!(error instanceof CronSyntaxError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  })
  .meta({
    description: 'minute hour day-of-month month day-of-week, e.g. "0 22 * * *"',
    examples: ['0 8 * * 1-5'],
  });

const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .superRefine((text, ctx) => {
    try {
      assertTimeZone(text);
    } catch (error) {
      if (!(error instanceof CronSyntaxError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  })
  .meta({ description: 'IANA time zone the cron times are in', examples: ['Europe/Berlin'] });

export const IdleRuleSchema = z
  .object({
    enabled: z.boolean(),
    cpu_below_percent: z.number().min(0.1).max(100).default(DEFAULT_IDLE_CPU_PERCENT),
    minutes: z
      .number()
      .int()
      .min(10)
      .max(24 * 60)
      .default(DEFAULT_IDLE_MINUTES),
  })
  .strict();
export type IdleRule = z.infer<typeof IdleRuleSchema>;

/** What a teacher or admin sets (PUT body). */
export const ClassScheduleSettingsSchema = z
  .object({
    timezone: TimeZone,
    start_cron: CronText.nullable().default(null),
    shutdown_cron: CronText.nullable().default(null),
    max_uptime_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 14)
      .nullable()
      .default(null),
    idle: IdleRuleSchema.nullable().default(null),
  })
  .strict();
export type ClassScheduleSettings = z.infer<typeof ClassScheduleSettingsSchema>;

/** A stored schedule. */
export const ClassScheduleSchema = z.object({
  class_id: ClassIdSchema,
  timezone: z.string(),
  start_cron: z.string().nullable(),
  shutdown_cron: z.string().nullable(),
  max_uptime_hours: z.number().int().nullable(),
  idle: IdleRuleSchema.nullable(),
  updated_by: z.string(),
  /** epoch ms */
  updated_at: z.number().int().nonnegative(),
  /** epoch ms up to which the schedule was evaluated (the next window starts after it); null before the first run */
  evaluated_until: z.number().int().nonnegative().nullable(),
});
export type ClassSchedule = z.infer<typeof ClassScheduleSchema>;

/** The actor of a schedule's actions in the audit trail. */
export function scheduleActor(classId: string): string {
  return `schedule:${classId}`;
}

/** Where schedules are kept. */
export interface ClassScheduleStore {
  getSchedule(classId: string): Promise<ClassSchedule | null>;
  /** Replaces the settings, keeping how far the schedule was evaluated. */
  putSchedule(schedule: Omit<ClassSchedule, 'evaluated_until'>): Promise<ClassSchedule>;
  deleteSchedule(classId: string): Promise<void>;
  /** Every class's schedule (one Query). */
  listSchedules(): Promise<ClassSchedule[]>;
  /**
   * Moves `evaluated_until` from `previous` to `until`; false when another run moved it first (so
   * each window is evaluated once).
   */
  claimWindow(classId: string, previous: number | null, until: number): Promise<boolean>;
}

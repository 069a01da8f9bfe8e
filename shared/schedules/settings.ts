import * as z from 'zod';
import { DEFAULT_SCHEDULE_SETTINGS, type ScheduleRunSettings } from './run-schedules.ts';

/** Environment variables of the class-schedules function (and the local stack). */
export const SCHEDULE_ENV = {
  /** a VM a user started this many minutes ago or less is never shut down by a schedule */
  userGraceMinutes: 'SCHEDULE_USER_GRACE_MINUTES',
  /** the idle warning shows at least this many minutes before the idle shutdown */
  idleWarningMinutes: 'IDLE_WARNING_MINUTES',
} as const;

/** A schedule setting is not a whole number of minutes in its range. */
export class ScheduleSettingsError extends Error {
  override readonly name = 'ScheduleSettingsError';
}

const minutes = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number of minutes`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
    .optional();

const EnvSchema = z.object({
  [SCHEDULE_ENV.userGraceMinutes]: minutes(SCHEDULE_ENV.userGraceMinutes, 0, 24 * 60),
  [SCHEDULE_ENV.idleWarningMinutes]: minutes(SCHEDULE_ENV.idleWarningMinutes, 1, 120),
});

/** The schedule settings from the environment (defaults: 30 min grace, 10 min warning). */
export function scheduleSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ScheduleRunSettings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ScheduleSettingsError(parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  const grace = parsed.data[SCHEDULE_ENV.userGraceMinutes];
  const warning = parsed.data[SCHEDULE_ENV.idleWarningMinutes];
  return {
    ...DEFAULT_SCHEDULE_SETTINGS,
    ...(grace === undefined ? {} : { userGraceMs: grace * 60_000 }),
    ...(warning === undefined ? {} : { idleWarningMs: warning * 60_000 }),
  };
}

import type { ClassScheduleResponse } from '#shared/http/schemas/schedules.ts';
import type { ClassSchedule } from './class-schedule.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The API answer of a class's schedule. */
export function toScheduleResponse(classId: string, schedule: ClassSchedule | null): ClassScheduleResponse {
  return {
    class_id: classId,
    schedule:
      schedule === null
        ? null
        : {
            timezone: schedule.timezone,
            start_cron: schedule.start_cron,
            shutdown_cron: schedule.shutdown_cron,
            max_uptime_hours: schedule.max_uptime_hours,
            idle: schedule.idle,
            updated_by: schedule.updated_by,
            updated_at: new Date(schedule.updated_at).toISOString(),
            evaluated_until: iso(schedule.evaluated_until),
          },
  };
}

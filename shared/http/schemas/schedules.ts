import * as z from 'zod';
import { ClusterIdParam, VmidParam } from '#shared/http/schemas/common.ts';
import { ClassScheduleSettingsSchema, IdleRuleSchema } from '#shared/schedules/class-schedule.ts';

/** Body of PUT /api/classes/{classId}/schedule. */
export const PutClassScheduleBodySchema = ClassScheduleSettingsSchema.meta({
  examples: [
    {
      timezone: 'Europe/Berlin',
      start_cron: '45 7 * * 1-5',
      shutdown_cron: '0 22 * * *',
      max_uptime_hours: 12,
      idle: { enabled: true, cpu_below_percent: 5, minutes: 60 },
    },
  ],
});

/** A class's schedule as the API answers it. */
export const ClassScheduleResponseSchema = z.object({
  class_id: z.string(),
  schedule: z
    .object({
      timezone: z.string(),
      start_cron: z.string().nullable(),
      shutdown_cron: z.string().nullable(),
      max_uptime_hours: z.number().int().nullable(),
      idle: IdleRuleSchema.nullable(),
      updated_by: z.string(),
      updated_at: z.iso.datetime(),
      /** how far the scheduled function has evaluated it */
      evaluated_until: z.iso.datetime().nullable(),
    })
    .nullable()
    .meta({ description: 'null when the class has no schedule' }),
});
export type ClassScheduleResponse = z.infer<typeof ClassScheduleResponseSchema>;

/** Path of POST /api/vms/{cluster}/{vmid}/keep-running. */
export const KeepRunningPathSchema = z.object({ cluster: ClusterIdParam, vmid: VmidParam });

/** Answer of POST /api/vms/{cluster}/{vmid}/keep-running. */
export const KeepRunningResponseSchema = z.object({
  ok: z.literal(true),
  cluster_id: z.string(),
  vmid: z.number().int(),
  /** the idle clock restarts now: the idle rule waits its full time again */
  idle_reset_at: z.iso.datetime(),
  idle_shutdown_at: z.null(),
});
export type KeepRunningResponse = z.infer<typeof KeepRunningResponseSchema>;

import * as z from 'zod';
import { ClusterIdSchema } from '#shared/domain/vm-record.ts';
import { OkTrue, UnixSecondsOrNull } from '#shared/http/schemas/common.ts';

/** Per-cluster figures of GET /api/sync/stats (counted over what the caller may see). */
export const ClusterSyncStatsSchema = z.object({
  cluster_id: z.string(),
  cluster_name: z.string(),
  total_vms: z.number().int().nonnegative(),
  fresh_vms: z.number().int().nonnegative(),
  error_vms: z.number().int().nonnegative(),
  running_vms: z.number().int().nonnegative(),
  last_full_sync: UnixSecondsOrNull,
  last_quick_sync: UnixSecondsOrNull,
  consecutive_errors: z.number().int().nonnegative(),
});
export type ClusterSyncStats = z.infer<typeof ClusterSyncStatsSchema>;

/** Answer of GET /api/sync/stats. */
export const SyncStatsResponseSchema = z.object({
  total_vms: z.number().int().nonnegative(),
  fresh_vms: z.number().int().nonnegative(),
  error_vms: z.number().int().nonnegative(),
  running_vms: z.number().int().nonnegative(),
  last_full_sync: UnixSecondsOrNull,
  last_quick_sync: UnixSecondsOrNull,
  /** the highest over clusters */
  consecutive_errors: z.number().int().nonnegative(),
  /** a quick sync succeeded within the last 3 intervals */
  is_running: z.boolean(),
  clusters: z.array(ClusterSyncStatsSchema),
});
export type SyncStatsResponse = z.infer<typeof SyncStatsResponseSchema>;

/** Answer of GET /api/sync/health (public: counts only, no VM names). 200 when healthy, 503 otherwise. */
export const SyncHealthResponseSchema = z.object({
  healthy: z.boolean(),
  /** human-readable reasons, one per problem (cluster ids, never VM names) */
  issues: z.array(z.string()),
  stats: z.object({
    clusters: z.number().int().nonnegative(),
    total_vms: z.number().int().nonnegative(),
    fresh_vms: z.number().int().nonnegative(),
    error_vms: z.number().int().nonnegative(),
    running_vms: z.number().int().nonnegative(),
    consecutive_errors: z.number().int().nonnegative(),
    last_full_sync: UnixSecondsOrNull,
    last_quick_sync: UnixSecondsOrNull,
  }),
});
export type SyncHealthResponse = z.infer<typeof SyncHealthResponseSchema>;

/** Body of POST /api/sync/trigger; an empty body means a full sync of every cluster. */
export const TriggerSyncBodySchema = z
  .strictObject({
    mode: z.enum(['full', 'quick']).default('full'),
    cluster_id: ClusterIdSchema.optional(),
  })
  .prefault({})
  .meta({ examples: [{ mode: 'full' }] });
export type TriggerSyncBody = z.infer<typeof TriggerSyncBodySchema>;

/** Answer (202) of POST /api/sync/trigger: the started execution, or the running one it joined. */
export const TriggerSyncResponseSchema = z.object({
  execution_name: z.string(),
  execution_arn: z.string().nullable(),
  mode: z.enum(['full', 'quick']),
  cluster_id: z.string().nullable(),
  /** false when an execution already running (or just started) was returned instead */
  started: z.boolean(),
});
export type TriggerSyncResponse = z.infer<typeof TriggerSyncResponseSchema>;

/** The route's answer: the trigger's answer plus `ok: true` (the original portal's pages check it). */
export const TriggerSyncHttpResponseSchema = TriggerSyncResponseSchema.extend({ ok: OkTrue });
export type TriggerSyncHttpResponse = z.infer<typeof TriggerSyncHttpResponseSchema>;

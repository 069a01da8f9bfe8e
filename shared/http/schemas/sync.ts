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
  /** admins only: the last sync error (≤ 500 characters, secrets redacted), null after a success */
  last_error: z.string().max(500).nullable().optional(),
  /** admins only: no sync of the cluster is attempted before this time (Unix seconds), or null */
  backoff_until: UnixSecondsOrNull.optional(),
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
  /**
   * a quick sync succeeded within the last 3 intervals, and every cluster in scope had a successful
   * quick sync within the staleness cutoff
   */
  is_running: z.boolean(),
  /** why `is_running` is false (null when running) */
  not_running_reason: z.string().nullable(),
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

/** What a manual sync does for one cluster. */
export const TriggerClusterOutcomeSchema = z.object({
  cluster_id: z.string(),
  /**
   * `started`: this request's execution syncs it now (backoff overridden); `coalesced`: it joins a
   * sync already under way (a recent trigger's execution, or a run holding the cluster's lease);
   * `skipped`: it will not be synced by this request (`reason` says why).
   */
  outcome: z.enum(['started', 'coalesced', 'skipped']),
  reason: z.string().nullable(),
});
export type TriggerClusterOutcome = z.infer<typeof TriggerClusterOutcomeSchema>;

/** Answer (202) of POST /api/sync/trigger: the started execution, or the running one it joined. */
export const TriggerSyncResponseSchema = z.object({
  execution_name: z.string(),
  execution_arn: z.string().nullable(),
  mode: z.enum(['full', 'quick']),
  cluster_id: z.string().nullable(),
  /** false when an execution already running (or just started) was returned instead */
  started: z.boolean(),
  /** what happens to each cluster in scope */
  clusters: z.array(TriggerClusterOutcomeSchema),
});
export type TriggerSyncResponse = z.infer<typeof TriggerSyncResponseSchema>;

/** The route's answer: the trigger's answer plus `ok: true` (the original portal's pages check it). */
export const TriggerSyncHttpResponseSchema = TriggerSyncResponseSchema.extend({ ok: OkTrue });
export type TriggerSyncHttpResponse = z.infer<typeof TriggerSyncHttpResponseSchema>;

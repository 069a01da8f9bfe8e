/**
 * Contract 5: the payloads the sync state machines pass between their Lambda tasks, and the
 * service interface the task handlers call. The state machines, the handlers, the engine and the
 * local interpreter all agree through these schemas.
 */
import * as z from 'zod';

/** Kind of sync: `full` (every few minutes, per-guest details) or `quick` (one listing per cluster). */
export const SyncModeSchema = z.enum(['full', 'quick']);
export type SyncMode = z.infer<typeof SyncModeSchema>;

/** A cluster id as contract 1 defines it. */
export const ClusterIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'not a valid cluster id');

/** ListClusters input: the execution input (`cluster_id` limits the run to one cluster). */
export const ListClustersInputSchema = z.object({
  mode: SyncModeSchema,
  cluster_id: ClusterIdSchema.optional(),
  /** A manual run (trigger): an explicit retry that runs even while a cluster is backing off. */
  manual: z.boolean().optional(),
});
export type ListClustersInput = z.infer<typeof ListClustersInputSchema>;

/** Most guests whose addresses one refresh re-reads (a live list of a small scope). */
export const MAX_REFRESH_VMIDS = 50;

/** SyncCluster input: one Map item, or the API's refresh of one cluster. */
export const SyncClusterInputSchema = z.object({
  cluster_id: ClusterIdSchema,
  mode: SyncModeSchema,
  /** Manual run: ignores the cluster's backoff (a success resets it). */
  manual: z.boolean().optional(),
  /**
   * A live list's refresh: the guests whose live IP and RDP/SSH a quick pass reads now, whatever
   * their caches say (at most {@link MAX_REFRESH_VMIDS}; guests the listing does not show are skipped).
   */
  vmids: z.array(z.number().int().min(1).max(999_999_999)).min(1).max(MAX_REFRESH_VMIDS).optional(),
  /** Epoch ms by which the caller needs the answer (the refresh's deadline): the run's budget ends there. */
  deadline_at: z.number().int().positive().optional(),
});
export type SyncClusterInput = z.infer<typeof SyncClusterInputSchema>;

/**
 * One Map item of ListClusters: a SyncCluster input whose `manual` is always present, because the
 * quick machine's first pass reads it with a JSONPath (`$.manual`), which fails on a missing field.
 */
export const ListedClusterSchema = SyncClusterInputSchema.extend({ manual: z.boolean() });
export type ListedCluster = z.infer<typeof ListedClusterSchema>;

/** ListClusters output: the Map's items (`clusters`), one per cluster to sync. */
export const ListClustersOutputSchema = z.object({
  mode: SyncModeSchema,
  clusters: z.array(ListedClusterSchema),
});
export type ListClustersOutput = z.infer<typeof ListClustersOutputSchema>;

const countSchema = z.number().int().nonnegative();

/** SyncCluster output: the small summary of one cluster's run (ids and counts only: payloads stay small). */
export const SyncSummarySchema = z.object({
  cluster_id: ClusterIdSchema,
  mode: SyncModeSchema,
  ok: z.boolean(),
  /** Why the run did nothing (lease held by another run, backoff), when it was skipped. */
  skipped: z.string().optional(),
  vms: countSchema,
  changed: countSchema,
  writes: countSchema,
  proxmox_calls: countSchema,
  duration_ms: z.number().nonnegative(),
  error: z.string().optional(),
  /**
   * Only when the input named `vmids`: true when every one of them that the listing shows had its
   * details (live IP, RDP/SSH) read and written before the run's budget ended.
   */
  details_refreshed: z.boolean().optional(),
});
export type SyncSummary = z.infer<typeof SyncSummarySchema>;

/** What the in-iteration Catch produces when the SyncCluster task itself failed (crash, timeout). */
export const SyncTaskFailureSchema = z.object({
  cluster_id: ClusterIdSchema,
  ok: z.literal(false),
  error: z.string(),
});
export type SyncTaskFailure = z.infer<typeof SyncTaskFailureSchema>;

/** One Map result: a summary, or the Catch's failure record. */
export const SyncResultSchema = z.union([SyncSummarySchema, SyncTaskFailureSchema]);
export type SyncResult = z.infer<typeof SyncResultSchema>;

/** RecordRun input: the Map's results of one run (for the quick sync: each cluster's last pass). */
export const RecordRunInputSchema = z.object({
  mode: SyncModeSchema,
  results: z.array(SyncResultSchema),
});
export type RecordRunInput = z.infer<typeof RecordRunInputSchema>;

/** RecordRun output: counts of the run (`clusters` = results recorded, `ok` + `failed` = `clusters`). */
export const RecordRunOutputSchema = z.object({
  mode: SyncModeSchema,
  clusters: countSchema,
  ok: countSchema,
  failed: countSchema,
});
export type RecordRunOutput = z.infer<typeof RecordRunOutputSchema>;

/** The sync engine as the task handlers see it (implemented in `shared/sync/service.ts`). */
export interface SyncService {
  /** Clusters to sync in this run (all configured ones, or the one asked for). */
  listClusters(input: ListClustersInput): Promise<ListClustersOutput>;
  /**
   * Syncs one cluster; a Proxmox failure is a summary with `ok: false`, not an exception.
   * `deadlineAt` (epoch ms): when the caller is killed (a Lambda's end); the run stops before it.
   */
  syncCluster(input: SyncClusterInput, options?: { deadlineAt?: number }): Promise<SyncSummary>;
  /** Aggregates a run's results into the global sync statistics and metrics. */
  recordRun(input: RecordRunInput): Promise<RecordRunOutput>;
}

/**
 * Names of the states of the sync state machines. Local task overrides are keyed by state name,
 * so these are part of the contract: the local stack binds its handlers through them.
 */
export const SyncStateName = {
  listClusters: 'ListClusters',
  /** The full sync's Map over clusters. */
  syncClusters: 'SyncClusters',
  syncCluster: 'SyncCluster',
  syncClusterFailed: 'SyncClusterFailed',
  recordRun: 'RecordRun',
  /** The quick sync's Map over clusters (each iteration runs that cluster's passes). */
  quickClusters: 'QuickClusters',
  /** End of a quick iteration: outputs the cluster's last pass. */
  quickClusterDone: 'QuickClusterDone',
} as const;

/**
 * Name of a state of quick-sync pass `pass` (1-based): state names must be unique in a machine,
 * so each pass's copies carry its number (`SyncCluster2`, `SyncClusterFailed2`, `WaitBeforePass2`).
 */
export function quickPassStateName(
  base: 'WaitBeforePass' | typeof SyncStateName.syncCluster | typeof SyncStateName.syncClusterFailed,
  pass: number,
): string {
  return `${base}${pass}`;
}

/** The Lambda task a state name invokes, or undefined for states that are not sync tasks. */
export type SyncTaskRole = 'listClusters' | 'syncCluster' | 'recordRun';

/** Maps a Task state name of either sync machine to the handler role it runs. */
export function syncTaskRoleOf(stateName: string): SyncTaskRole | undefined {
  if (stateName === SyncStateName.listClusters) return 'listClusters';
  if (/^SyncCluster\d*$/.test(stateName)) return 'syncCluster';
  if (/^RecordRun\d*$/.test(stateName)) return 'recordRun';
  return undefined;
}

/** Thrown when a task payload does not match the contract; the message names each bad field. */
export class InvalidTaskPayloadError extends Error {
  override readonly name = 'InvalidTaskPayloadError';
}

/**
 * Validates a task payload (input or output) against its contract schema.
 * @param what names the payload in the error, e.g. `SyncCluster input`.
 */
export function parseTaskPayload<S extends z.ZodType>(schema: S, payload: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const reasons = parsed.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  throw new InvalidTaskPayloadError(`${what}: ${reasons.join('; ')}`);
}

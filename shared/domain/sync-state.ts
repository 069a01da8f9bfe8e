import * as z from 'zod';

/**
 * Per-cluster sync state, leases and global run statistics, as stored in `SyncState`. Times are
 * epoch milliseconds; the API converts sync statistics to Unix seconds.
 */

const epochMs = z.number().int().nonnegative();

/** What the last successful listing said about one node. */
export const NodeStateSchema = z.object({
  online: z.boolean(),
  /** epoch ms of the last successful listing that contained the node (online or not) */
  last_seen_at: epochMs.nullable().default(null),
  /** epoch ms of the last successful listing that showed the node online */
  last_online_at: epochMs.nullable().default(null),
  /**
   * epoch ms of the last successful full sync that listed the node online (its guests' details were
   * read then): what a guest's `last_updated` is derived from. Absent in states written before it
   * existed.
   */
  last_full_online_at: epochMs.nullable().optional(),
  /**
   * `observed_at` of the node's samples in the cluster's packed runtime set (the observation that
   * last changed them): a reader that holds those samples already needs no read. Absent in states written before it existed.
   */
  runtime_at: epochMs.nullable().optional(),
});
export type NodeState = z.infer<typeof NodeStateSchema>;

/** Per-node guest counts: enough to apply the per-VM staleness rule to a whole node at once. */
export const NodeCountsSchema = z.object({
  total: z.number().int().nonnegative().default(0),
  /** guests whose status the listing could not tell (`unobserved_since` set): always stale */
  unobserved: z.number().int().nonnegative().default(0),
});
export type NodeCounts = z.infer<typeof NodeCountsSchema>;

/** Aggregates the sync keeps so that stats and health never scan the inventory. */
export const ClusterCountsSchema = z.object({
  total: z.number().int().nonnegative().default(0),
  running: z.number().int().nonnegative().default(0),
  /** guests with a `sync_error` */
  error: z.number().int().nonnegative().default(0),
  templates: z.number().int().nonnegative().default(0),
  /** guests per node (absent in states written before it existed) */
  by_node: z.record(z.string(), NodeCountsSchema).optional(),
});
export type ClusterCounts = z.infer<typeof ClusterCountsSchema>;

/** The sync state of one cluster. */
export const ClusterStateSchema = z.object({
  cluster_id: z.string().min(1),
  cluster_name: z.string().nullable().default(null),
  /** epoch ms when the last successful quick / full sync started */
  last_quick_sync_at: epochMs.nullable().default(null),
  last_full_sync_at: epochMs.nullable().default(null),
  /** epoch ms when the last successful observation (either kind) started */
  last_success_at: epochMs.nullable().default(null),
  last_attempt_at: epochMs.nullable().default(null),
  consecutive_errors: z.number().int().nonnegative().default(0),
  /** epoch ms before which no sync of the cluster is attempted */
  backoff_until: epochMs.nullable().default(null),
  /** ≤ 500 characters, secrets redacted */
  last_error: z.string().max(500).nullable().default(null),
  nodes: z.record(z.string(), NodeStateSchema).default({}),
  counts: ClusterCountsSchema.default({ total: 0, running: 0, error: 0, templates: 0 }),
  /**
   * Guests removed recently whose assignments are looked up again once the `ByVm` index has caught
   * up (it lags writes: an assignment made seconds before the removal may be missing from it).
   */
  removals_to_recheck: z
    .array(z.object({ vmid: z.number().int().nonnegative(), removed_at: epochMs }))
    .optional(),
  updated_at: epochMs.nullable().default(null),
  /**
   * Opaque token that changes after every write to the cluster's VM items (sync writes, actions'
   * pending state, removals): readers keep what they read under it (README "Read cache"). Never
   * repeats; absent until the first write that sets it.
   */
  inventory_version: z.string().min(1).max(64).nullable().optional(),
});
export type ClusterState = z.infer<typeof ClusterStateSchema>;
/** Input shape of a cluster state (defaults not yet applied). */
export type ClusterStateInput = z.input<typeof ClusterStateSchema>;

/** Lease kinds: lower-case words so that other parts can add their own (e.g. `refresh`). */
export const LeaseKindSchema = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/);
export type LeaseKind = z.infer<typeof LeaseKindSchema>;

/** A lease on (cluster, kind). */
export const LeaseSchema = z.object({
  cluster_id: z.string().min(1),
  kind: LeaseKindSchema,
  owner: z.string().min(1),
  acquired_at: epochMs,
  /** epoch ms; the lease is free once `now` is past it (checked in the condition, never by TTL) */
  lease_expires_at: epochMs,
  /**
   * How far the holder got (full sync: guests whose details are done, of all it had to do),
   * written as batches land; read when the run was killed, to say how far it got.
   */
  progress: z
    .object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative(), at: epochMs })
    .optional(),
});
export type Lease = z.infer<typeof LeaseSchema>;

/** The last run of the full or quick sync over all clusters (RecordRun). */
export const GlobalRunStatsSchema = z.object({
  mode: z.enum(['full', 'quick']),
  /** epoch ms */
  finished_at: epochMs,
  clusters: z.number().int().nonnegative(),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  duration_ms: z.number().int().nonnegative().nullable().default(null),
});
export type GlobalRunStats = z.infer<typeof GlobalRunStatsSchema>;

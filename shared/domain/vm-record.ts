import * as z from 'zod';

/**
 * The VM record: what is stored per guest in `VmInventory` and what the API answers.
 *
 * The stored item keeps only what is stable between passes (identity, status, node, config, IP,
 * reachability, errors, a boot time instead of an ever-growing uptime). CPU and memory use live in
 * the cluster's packed runtime item (see runtime-stats.ts) and `stale`/`last_status_check` are
 * derived at read time (see staleness.ts), so a steady fleet costs no per-VM write per pass.
 *
 * Stored times are epoch milliseconds (numbers compare correctly in DynamoDB conditions); API times
 * are ISO 8601 UTC strings, as the original portal's frontend expects.
 */

/** Cluster ids as in the clusters file (contract 1). */
export const ClusterIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'invalid cluster id');

/** Proxmox VMIDs: 100 … 999,999,999. */
export const VmidSchema = z.number().int().min(100).max(999_999_999);

/** Guest types Proxmox lists in /cluster/resources. */
export const VmTypeSchema = z.enum(['qemu', 'lxc']);
export type VmType = z.infer<typeof VmTypeSchema>;

/** OS family derived from the config's `ostype`. */
export const VmCategorySchema = z.enum(['windows', 'linux', 'other']);
export type VmCategory = z.infer<typeof VmCategorySchema>;

/**
 * The seed's status values plus the QEMU run states (`qmpstatus`) Proxmox reports. Anything else a
 * sync reads is stored as `unknown` (see {@link normalizeVmStatus}).
 */
export const VM_STATUSES = [
  'running',
  'stopped',
  'paused',
  'unknown',
  'suspended',
  'prelaunch',
  'inmigrate',
  'postmigrate',
  'finish-migrate',
  'io-error',
  'internal-error',
  'guest-panicked',
  'watchdog',
  'shutdown',
  'debug',
  'restore-vm',
  'save-vm',
  'colo',
] as const;
export const VmStatusSchema = z.enum(VM_STATUSES);
export type VmStatus = z.infer<typeof VmStatusSchema>;

/** Power actions a user can request (the original portal's routes). */
export const PendingActionSchema = z.enum(['start', 'stop', 'shutdown', 'reboot']);
export type PendingAction = z.infer<typeof PendingActionSchema>;

/** Why the QEMU guest agent was not asked for IPs (negative cache kept by the full sync). */
export const AgentStateSchema = z.enum(['ok', 'disabled', 'not_running', 'absent', 'error']);
export type AgentState = z.infer<typeof AgentStateSchema>;

/** Longest `sync_error` kept (the seed's limit). */
export const SYNC_ERROR_MAX_LENGTH = 500;

const epochMs = z.number().int().nonnegative();
const nullableText = z.string().nullable().default(null);

/** Identity of a guest everywhere: the same VMID exists on several clusters. */
export const VmKeySchema = z.object({ cluster_id: ClusterIdSchema, vmid: VmidSchema });
export type VmKey = z.infer<typeof VmKeySchema>;

/**
 * The attributes a sync (or an action) may change on a stored VM item: everything except the key,
 * the write guard (`observed_at`) and the pending-action fields, which have their own operations.
 */
export const StoredVmAttributesSchema = z.object({
  cluster_name: z.string(),
  name: z.string(),
  node: z.string().min(1),
  type: VmTypeSchema,
  category: VmCategorySchema,
  status: VmStatusSchema,
  ip: nullableText,
  mac: nullableText,
  /** MiB */
  memory: z.number().int().nonnegative(),
  cores: z.number().int().nonnegative(),
  /** bytes */
  disk_size: z.number().int().nonnegative(),
  is_template: z.boolean(),
  /** Tags in Proxmox order, deduplicated; the API's comma-separated `tags` is derived from it. */
  tag_list: z.array(z.string().min(1)).default([]),
  pool: nullableText,
  lock: nullableText,
  hastate: nullableText,
  rdp_available: z.boolean().default(false),
  ssh_available: z.boolean().default(false),
  /** Epoch ms of the last boot (observation time − uptime); null when not running. */
  boot_time: epochMs.nullable().default(null),
  /**
   * Epoch ms when the VM's details (config, IP, reachability) were last written. The API's
   * `last_updated` is derived from it and the cluster's sync state (see staleness.ts): no write per
   * VM per sync.
   */
  last_updated: epochMs.nullable().default(null),
  /** True from a guest's first sighting by a listing until its details (config, IP) were read. */
  details_pending: z.boolean().default(false),
  /** Identity beyond the VMID (see shared/sync/guest-identity.ts): creation time, Unix seconds. */
  guest_ctime: z.number().int().nonnegative().nullable().default(null),
  /** Identity beyond the VMID: the QEMU VM generation id. */
  vmgenid: nullableText,
  sync_error: z.string().max(SYNC_ERROR_MAX_LENGTH).nullable().default(null),
  /** Epoch ms of the last config read (the full sync re-reads every guest within 30 minutes). */
  config_checked_at: epochMs.nullable().default(null),
  /** Epoch ms of the last IP lookup. */
  ip_checked_at: epochMs.nullable().default(null),
  /** Agent negative cache: last agent outcome and when to ask it again. */
  agent_state: AgentStateSchema.nullable().default(null),
  agent_retry_at: epochMs.nullable().default(null),
  /**
   * Epoch ms since when the listing could not tell this guest's status (Proxmox said `unknown`): the
   * last known data is kept and the VM is shown stale until it is observed again.
   */
  unobserved_since: epochMs.nullable().default(null),
});
export type StoredVmAttributes = z.infer<typeof StoredVmAttributesSchema>;

/** A user action under way, as stored (times epoch ms). */
export const StoredPendingSchema = z.object({
  pending_action: PendingActionSchema,
  /** Epoch ms when the action was recorded: observations that started before it cannot overwrite it. */
  pending_since: epochMs,
  pending_upid: z.string().nullable().default(null),
});
export type StoredPending = z.infer<typeof StoredPendingSchema>;

/**
 * One `VmInventory` item as stored. Parse every item read back with it (items missing optional
 * attributes get their defaults). Pending-action fields are absent when no action is under way.
 */
export const StoredVmSchema = VmKeySchema.extend(StoredVmAttributesSchema.shape).extend({
  /** Epoch ms when the observation that last wrote this item started: the conditional-write guard. */
  observed_at: epochMs,
  pending_action: PendingActionSchema.optional(),
  pending_since: epochMs.optional(),
  pending_upid: z.string().nullable().optional(),
  /** Epoch ms when the idle rule shuts the VM down (set with the warning, removed when it is over). */
  idle_shutdown_at: epochMs.optional(),
  /** Epoch ms of the last "keep running": the idle clock starts no earlier. */
  idle_reset_at: epochMs.optional(),
});
export type StoredVm = z.infer<typeof StoredVmSchema>;
/** Input shape of a stored item (defaults not yet applied): what a writer must at least provide. */
export type NewStoredVm = z.input<typeof StoredVmSchema>;

const isoTime = z.iso.datetime();

/**
 * A VM as the API answers it (the original portal's field names; times ISO 8601 UTC or null).
 */
export const ApiVmSchema = z.object({
  cluster_id: z.string(),
  cluster_name: z.string(),
  vmid: z.number().int(),
  name: z.string(),
  node: z.string(),
  type: VmTypeSchema,
  category: VmCategorySchema,
  status: VmStatusSchema,
  ip: z.string().nullable(),
  mac: z.string().nullable(),
  memory: z.number().int(),
  cores: z.number().int(),
  disk_size: z.number().int(),
  /** seconds */
  uptime: z.number().int().nonnegative(),
  /** percent of the allocated CPUs, one decimal */
  cpu_usage: z.number().nonnegative(),
  /** percent of the allocated memory, one decimal */
  memory_usage: z.number().nonnegative(),
  is_template: z.boolean(),
  /** the seed's comma-separated tags */
  tags: z.string(),
  tag_list: z.array(z.string()),
  pool: z.string().nullable(),
  lock: z.string().nullable(),
  hastate: z.string().nullable(),
  rdp_available: z.boolean(),
  ssh_available: z.boolean(),
  /** the last successful full sync that saw the guest (its details are as of that sync) */
  last_updated: isoTime.nullable(),
  last_status_check: isoTime.nullable(),
  /** true while a newly seen guest's details (category, IP, RDP/SSH) are not read yet */
  details_pending: z.boolean(),
  sync_error: z.string().nullable(),
  stale: z.boolean(),
  pending_action: PendingActionSchema.nullable(),
  pending_since: isoTime.nullable(),
  pending_upid: z.string().nullable(),
  /**
   * When the class's idle rule will shut the VM down (a warning: "keep running" cancels it), else
   * null. Always present in answers; optional for clients of older versions.
   */
  idle_shutdown_at: isoTime
    .nullable()
    .optional()
    .meta({
      description:
        "When the class's idle rule will shut this running VM down (a warning shown at least IDLE_WARNING_MINUTES ahead; " +
        'POST /api/vms/{cluster}/{vmid}/keep-running cancels it), else null',
    }),
});
export type ApiVm = z.infer<typeof ApiVmSchema>;

/**
 * Maps any status string Proxmox reports to a known status (`unknown` for anything new), so a new
 * Proxmox release never makes an item unreadable.
 */
export function normalizeVmStatus(raw: string | null | undefined): VmStatus {
  const parsed = VmStatusSchema.safeParse(raw);
  return parsed.success ? parsed.data : 'unknown';
}

/**
 * Splits a tag string into a deduplicated list in its original order. Accepts the seed's commas and
 * Proxmox's semicolons and spaces as separators.
 */
export function tagsToList(tags: string | null | undefined): string[] {
  if (!tags) return [];
  const seen = new Set<string>();
  for (const tag of tags.split(/[;,\s]+/)) {
    const trimmed = tag.trim();
    if (trimmed) seen.add(trimmed);
  }
  return [...seen];
}

/** Joins a tag list into the seed's comma-separated string (no spaces). */
export function listToTags(list: readonly string[]): string {
  return list.join(',');
}

/**
 * Truncates a sync error to the stored limit. Redacting secrets is the caller's job (it knows them).
 */
export function truncateSyncError(message: string): string {
  return message.length <= SYNC_ERROR_MAX_LENGTH
    ? message
    : `${message.slice(0, SYNC_ERROR_MAX_LENGTH - 1)}…`;
}

/** Boot time (epoch ms) of a guest observed at `observedAtMs` with `uptimeSeconds` of uptime. */
export function bootTimeFromUptime(observedAtMs: number, uptimeSeconds: number): number {
  return Math.max(0, observedAtMs - Math.round(uptimeSeconds) * 1000);
}

/**
 * Proxmox refreshes uptime only every ~10 s and reports whole seconds, so two observations of the
 * same boot give boot times a few seconds apart: treat them as the same boot (no write).
 */
export const BOOT_TIME_TOLERANCE_MS = 30_000;

/** True when two boot times denote the same boot (both null, or within the tolerance). */
export function isSameBoot(
  a: number | null,
  b: number | null,
  toleranceMs = BOOT_TIME_TOLERANCE_MS,
): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= toleranceMs;
}

import type { RuntimeSample } from './runtime-stats.ts';
import { DEFAULT_STALE_AFTER_MS, vmFreshness, vmLastUpdated } from './staleness.ts';
import type { ClusterState } from './sync-state.ts';
import { type ApiVm, listToTags, type StoredVm } from './vm-record.ts';

/** A pending action older than this is shown as over (the action handler's 120 s expiry). */
export const PENDING_ACTION_EXPIRY_MS = 120_000;

/** Options of {@link toApiVm}. */
export interface ToApiVmOptions {
  /** epoch ms "now" (the caller's clock; never read inside) */
  nowMs: number;
  /** staleness cutoff, default 10 minutes */
  staleAfterMs?: number;
  /** pending-action expiry, default 120 s */
  pendingExpiryMs?: number;
}

/**
 * Recent epoch-ms → ISO 8601 conversions: a list repeats the same few times (a cluster's sync
 * times are most VMs' `last_updated` and `last_status_check`), and formatting a date is the
 * costliest step of the mapping. Bounded: cleared when full.
 */
const isoMemo = new Map<number, string>();
const ISO_MEMO_MAX = 4096;

function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  let text = isoMemo.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (isoMemo.size >= ISO_MEMO_MAX) isoMemo.clear();
    isoMemo.set(ms, text);
  }
  return text;
}

/**
 * Converts a stored VM item, its runtime sample and its cluster's sync state into the API shape:
 * uptime from the boot time (running guests only), CPU/memory use from the runtime set (0 when
 * not running or unknown), `stale` and `last_status_check` from the staleness rule, `tags` joined
 * from `tag_list`, times as ISO 8601, an expired pending action hidden.
 */
export function toApiVm(
  vm: StoredVm,
  runtime: RuntimeSample | undefined,
  cluster:
    | (Pick<ClusterState, 'last_success_at' | 'nodes'> &
        Partial<Pick<ClusterState, 'consecutive_errors' | 'last_full_sync_at'>>)
    | null
    | undefined,
  options: ToApiVmOptions,
): ApiVm {
  const { nowMs } = options;
  const freshness = vmFreshness(vm, cluster, nowMs, options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
  const running = vm.status === 'running';
  const uptime =
    running && vm.boot_time !== null ? Math.max(0, Math.floor((nowMs - vm.boot_time) / 1000)) : 0;
  const pendingLive =
    vm.pending_action !== undefined &&
    vm.pending_since !== undefined &&
    nowMs - vm.pending_since <= (options.pendingExpiryMs ?? PENDING_ACTION_EXPIRY_MS);

  return {
    cluster_id: vm.cluster_id,
    cluster_name: vm.cluster_name,
    vmid: vm.vmid,
    name: vm.name,
    node: vm.node,
    type: vm.type,
    category: vm.category,
    status: vm.status,
    ip: vm.ip,
    mac: vm.mac,
    memory: vm.memory,
    cores: vm.cores,
    disk_size: vm.disk_size,
    uptime,
    cpu_usage: running && runtime ? runtime.cpu_usage : 0,
    memory_usage: running && runtime ? runtime.memory_usage : 0,
    is_template: vm.is_template,
    tags: listToTags(vm.tag_list),
    tag_list: [...vm.tag_list],
    pool: vm.pool,
    lock: vm.lock,
    hastate: vm.hastate,
    rdp_available: vm.rdp_available,
    ssh_available: vm.ssh_available,
    last_updated: iso(vmLastUpdated(vm, cluster)),
    last_status_check: iso(freshness.lastStatusCheck),
    details_pending: vm.details_pending,
    sync_error: vm.sync_error,
    stale: freshness.stale,
    pending_action: pendingLive ? (vm.pending_action ?? null) : null,
    pending_since: pendingLive ? iso(vm.pending_since) : null,
    pending_upid: pendingLive ? (vm.pending_upid ?? null) : null,
    idle_shutdown_at: running ? iso(vm.idle_shutdown_at) : null,
  };
}

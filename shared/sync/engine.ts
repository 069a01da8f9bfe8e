import { randomUUID } from 'node:crypto';
import type { ClusterConfig } from '#shared/config/clusters.ts';
import { type ClusterRuntime, nextRuntimeSet, nextRuntimeSetTime } from '#shared/domain/runtime-stats.ts';
import type { ClusterState, ClusterStateInput } from '#shared/domain/sync-state.ts';
import { newVersionToken } from '#shared/domain/versions.ts';
import {
  type NewStoredVm,
  type StoredVm,
  type StoredVmAttributes,
  StoredVmSchema,
  type VmKey,
} from '#shared/domain/vm-record.ts';
import { type EndpointClass, emptyCallCounts } from '#shared/proxmox/endpoint-class.ts';
import {
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxInvalidResponseError,
  ProxmoxNotFoundError,
  ProxmoxTimeoutError,
} from '#shared/proxmox/errors.ts';
import type { ProxmoxGateway, ProxmoxLogger } from '#shared/proxmox/gateway.ts';
import { interfacesFromAgent, interfacesFromLxc } from '#shared/proxmox/mapping.ts';
import type { GuestConfig } from '#shared/proxmox/schemas.ts';
import { BatchWriteIncompleteError } from '#shared/store/dynamodb/errors.ts';
import type { Repositories, VmChange } from '#shared/store/ports.ts';
import { type BackoffPolicy, backoffDelayMs, DEFAULT_BACKOFF, isBackingOff } from './backoff.ts';
import { MAX_REFRESH_VMIDS, type SyncMode, type SyncSummary } from './contract.ts';
import { DetailWriter } from './detail-writer.ts';
import { applyAttributes, diffAttributes } from './diff.ts';
import { identityFromConfig, isRecycledGuest } from './guest-identity.ts';
import { recordQuickPassHistory } from './history-recorder.ts';
import type { SyncMetricsSink } from './metrics.ts';
import { Limiter, runPerNode } from './node-queues.ts';
import {
  type ConfigDetails,
  configReadReason,
  detailsFromConfig,
  ipAttributes,
  ipSourceFor,
  type LiveIpOutcome,
  needsIpAfterBoot,
} from './plan-full.ts';
import { countVms, type ListingObservation, type ListingPlan, planListing } from './plan-quick.ts';
import {
  DEFAULT_PROBE_CONCURRENCY,
  DEFAULT_PROBE_TIMEOUT_MS,
  isLoopbackAddress,
  type ProbeResult,
  probeGuests,
  type TcpProbe,
} from './probe.ts';
import {
  isTimeoutFailure,
  leaseTtlWithin,
  mayStart,
  type RunBudget,
  runBudget,
  timedOutMessage,
} from './run-deadline.ts';
import { toSyncError } from './sync-error.ts';

/**
 * The sync of one cluster (quick or full): backoff, lease, one listing, planning in code, guarded
 * writes of what changed, per-guest details (full), sync state and metrics. Proxmox failures end
 * as an `ok: false` summary, never as an exception.
 */

/** The run's lease, and whether a state write already released it. */
interface LeaseHold {
  owner: string;
  kind: SyncMode;
  released: boolean;
}

/** Lease lifetimes: longer than the longest run of each kind, so a crashed run frees it soon. */
export const DEFAULT_LEASE_TTL_MS: Readonly<Record<SyncMode, number>> = {
  quick: 60_000,
  full: 6 * 60_000,
};

/** Per-guest work of a full sync in flight at once over all nodes (each node: its own in-flight limit). */
const DETAIL_CONCURRENCY = 48;
/** Guests' details written per batch of a full sync (progress becomes durable batch by batch). */
const DETAIL_FLUSH_SIZE = 100;
/** ...or after this long, whichever comes first. */
const DETAIL_FLUSH_INTERVAL_MS = 5_000;
/** Ownership suspensions in flight at once. */
const SUSPEND_CONCURRENCY = 8;
/**
 * A removed guest's assignments are looked up again this long after the removal: the `ByVm` index
 * lags writes (usually well under a second), so an assignment made just before the removal may
 * have been missing from the first lookup.
 */
export const REMOVAL_RECHECK_AFTER_MS = 10_000;
/** Removals remembered for a re-check at most (oldest dropped first). */
const MAX_REMOVALS_TO_RECHECK = 500;

/** Everything the engine needs; entry points wire the real adapters, tests inject their own. */
export interface SyncEngineDeps {
  repositories: Repositories;
  /** The Proxmox client of a cluster (cached by the caller as it sees fit). */
  connect(cluster: ClusterConfig): Promise<ProxmoxGateway>;
  /** Called after an authentication failure: the cached client and secret may be stale. */
  invalidate?(clusterId: string): void;
  now(): number;
  logger: ProxmoxLogger;
  metrics: SyncMetricsSink;
  probe?: TcpProbe;
  probeTimeoutMs?: number;
  probeConcurrency?: number;
  backoff?: BackoffPolicy;
  /** Period of the full sync (sizes the config rotation); default 5 minutes. */
  fullSyncIntervalMs?: number;
  leaseTtlMs?: Partial<Record<SyncMode, number>>;
  /** Unique id of a run (lease owner); default random UUID. */
  newRunId?(): string;
}

/** Item writes of a run, by kind (the summary reports their sum). */
/** Whether guests were written since the cluster's `inventory_version` last moved. */
interface VersionDebt {
  dirty: boolean;
}

export interface WriteBreakdown {
  /** VM items (creations, changes, removals) */
  inventory: number;
  /** runtime set items (and deletes of leftovers) */
  runtime: number;
  /** the cluster's sync state item */
  state: number;
  /** assignments suspended because their guest was removed */
  ownership: number;
  /** metrics history items (quick passes: one per cluster and minute, and per cluster and quarter hour) */
  history: number;
}

/** A summary plus what tests and benchmarks want to see in more detail. */
export interface ClusterSyncResult {
  summary: SyncSummary;
  writes: WriteBreakdown;
  calls: Record<EndpointClass, number> & { total: number };
  /** Full sync: guests whose details were done, of all observable guests (null for other runs). */
  details: { done: number; total: number } | null;
}

/** Options of one run. */
export interface SyncRunOptions {
  /**
   * Epoch ms (engine clock) when the run is killed (the Lambda's end): the run stops starting
   * new guest work a margin before it and keeps what it did. None: no deadline.
   */
  deadlineAt?: number;
  /** A manual run (admin trigger, CLI) is an explicit retry: it runs through the cluster's backoff. */
  manual?: boolean;
  /** A live list's refresh: guests whose live IP and RDP/SSH a quick pass reads now (see contract). */
  vmids?: ReadonlySet<number>;
}

/** What the per-guest part of a full sync got through. */
interface DetailsOutcome {
  done: number;
  total: number;
  /** guests whose details could not be written (the first error says why) */
  unwritten: number;
  writeError: string | null;
}

/** Counts the calls one run makes through a gateway, per endpoint class. */
class CallCounter {
  readonly counts = emptyCallCounts();

  track<T>(cls: EndpointClass, call: () => Promise<T>): Promise<T> {
    this.counts[cls]++;
    this.counts.total++;
    return call();
  }
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const entries = items.entries();
  const worker = async (): Promise<void> => {
    for (const [index, item] of entries) results[index] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const AGENT_NOT_RUNNING = /not running|guest agent is not|got timeout|QEMU guest agent/i;
const AGENT_ABSENT = /No QEMU guest agent configured|agent not (?:configured|enabled)/i;

/** Classifies a failed agent or `/interfaces` call: an absent or stopped agent is not an error. */
export function classifyLiveIpError(error: unknown): LiveIpOutcome {
  if (error instanceof ProxmoxApiError && error.status === 500) {
    if (AGENT_ABSENT.test(error.serverMessage)) return { kind: 'agent-unavailable', state: 'absent' };
    if (AGENT_NOT_RUNNING.test(error.serverMessage))
      return { kind: 'agent-unavailable', state: 'not_running' };
  }
  // A stopped agent makes Proxmox wait for the guest's answer until it gives up.
  if (error instanceof ProxmoxTimeoutError && error.endpointClass === 'agent')
    return { kind: 'agent-unavailable', state: 'not_running' };
  return { kind: 'error', message: toSyncError(error) };
}

/** Removals waiting for their assignments' re-check: read from the state, written back. */
interface RemovalRecheck {
  pending: readonly { vmid: number; removed_at: number }[];
  next: { vmid: number; removed_at: number }[];
}

/**
 * Splits the remembered removals into those to re-check now (the index had time to catch up, or
 * the VMID is listed again and its new guest is about to be stored) and those to keep.
 */
export function splitDueRechecks(
  pending: readonly { vmid: number; removed_at: number }[],
  nowMs: number,
  listed: ReadonlyMap<number, unknown>,
): { due: { vmid: number; removed_at: number }[]; keep: { vmid: number; removed_at: number }[] } {
  const due: { vmid: number; removed_at: number }[] = [];
  const keep: { vmid: number; removed_at: number }[] = [];
  for (const entry of pending) {
    if (nowMs - entry.removed_at >= REMOVAL_RECHECK_AFTER_MS || listed.has(entry.vmid)) due.push(entry);
    else keep.push(entry);
  }
  return { due, keep };
}

/** Attributes that only record when the sync looked: alone they are not worth a write. */
const BOOKKEEPING_ATTRIBUTES = new Set([
  'config_checked_at',
  'ip_checked_at',
  'last_updated',
  'agent_retry_at',
]);

/** Details gathered for one guest during a full sync. */
interface GuestDetails {
  vmid: number;
  reason: ReturnType<typeof configReadReason>;
  set: Partial<StoredVmAttributes>;
  /**
   * Write the bookkeeping times even if nothing else changed: a new or changed guest, or a live
   * lookup after a boot (else the next pass would ask again). A rotation read or a retry that
   * found nothing new costs no write.
   */
  recordCheck: boolean;
  /** The config belongs to another guest than the stored one (VMID destroyed and reused). */
  recycled: boolean;
}

/** Runs syncs of single clusters. */
export class ClusterSyncEngine {
  private readonly backoff: BackoffPolicy;
  readonly fullIntervalMs: number;

  constructor(private readonly deps: SyncEngineDeps) {
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
    this.fullIntervalMs = deps.fullSyncIntervalMs ?? 5 * 60_000;
  }

  /** Syncs one cluster once; Proxmox failures give `ok: false`, a skipped run says why. */
  async sync(
    cluster: ClusterConfig,
    requested: SyncMode,
    options: SyncRunOptions = {},
  ): Promise<ClusterSyncResult> {
    const { syncState } = this.deps.repositories;
    const state = await syncState.getClusterState(cluster.id);
    // A cluster that never had a full sync (new deployment, newly configured cluster, empty table)
    // gets it at once instead of showing detail-less guests until the next full-sync tick.
    const mode = firstSyncMode(requested, state);
    const startedAt = this.deps.now();
    const budget = runBudget(startedAt, options.deadlineAt);
    const calls = new CallCounter();
    const writes: WriteBreakdown = { inventory: 0, runtime: 0, state: 0, ownership: 0, history: 0 };
    let details: ClusterSyncResult['details'] = null;
    const finish = (
      summary: Omit<SyncSummary, 'cluster_id' | 'mode' | 'duration_ms' | 'proxmox_calls' | 'writes'>,
      state: { consecutiveErrors: number; lastSuccessAt: number | null; guests: number | null },
    ): ClusterSyncResult => {
      const durationMs = Math.max(0, this.deps.now() - startedAt);
      const total = writes.inventory + writes.runtime + writes.state + writes.ownership + writes.history;
      const full: SyncSummary = {
        cluster_id: cluster.id,
        mode,
        ...summary,
        writes: total,
        proxmox_calls: calls.counts.total,
        duration_ms: durationMs,
      };
      const nowMs = this.deps.now();
      this.deps.metrics.publishClusterRun({
        clusterId: cluster.id,
        durationMs,
        guests: state.guests,
        changed: full.changed,
        writes: total,
        errors: state.consecutiveErrors,
        secondsSinceLastSuccess:
          state.lastSuccessAt === null ? null : Math.max(0, Math.round((nowMs - state.lastSuccessAt) / 1000)),
        proxmoxCalls: calls.counts.total,
      });
      return { summary: full, writes, calls: calls.counts, details };
    };

    const previous = {
      consecutiveErrors: state?.consecutive_errors ?? 0,
      lastSuccessAt: state?.last_success_at ?? null,
      guests: null,
    };
    // A manual run is an explicit retry: it runs through the backoff (a success resets it).
    if (options.manual !== true && isBackingOff(state?.backoff_until, startedAt)) {
      return finish(
        {
          ok: false,
          skipped: `backing off until ${new Date(state?.backoff_until ?? startedAt).toISOString()}`,
          vms: state?.counts.total ?? 0,
          changed: 0,
          ...(state?.last_error ? { error: state.last_error } : {}),
        },
        previous,
      );
    }
    if (mode === 'quick') {
      const full = await syncState.getLease(cluster.id, 'full');
      if (full && full.lease_expires_at > startedAt) {
        // The full sync writes the same data: this pass would only compete with it.
        return finish(
          { ok: true, skipped: 'full sync in progress', vms: state?.counts.total ?? 0, changed: 0 },
          previous,
        );
      }
    }
    const owner = this.deps.newRunId?.() ?? randomUUID();
    const lease = await syncState.acquireLease({
      clusterId: cluster.id,
      kind: mode,
      owner,
      // A run killed at its deadline must not keep the next runs out.
      ttlMs: leaseTtlWithin(
        this.deps.leaseTtlMs?.[mode] ?? DEFAULT_LEASE_TTL_MS[mode],
        startedAt,
        budget.deadlineAt,
      ),
      nowMs: startedAt,
    });
    if (!lease.acquired) {
      return finish(
        { ok: true, skipped: `${mode} sync already running`, vms: state?.counts.total ?? 0, changed: 0 },
        previous,
      );
    }
    // A quick pass's lease lives on the state item: the state write that ends the pass releases it.
    const hold: LeaseHold = { owner, kind: mode, released: false };
    try {
      return await this.syncLeased(cluster, mode, state, startedAt, calls, writes, finish, {
        budget,
        owner,
        lease: hold,
        requested: options.vmids ?? null,
        reportDetails: (outcome) => {
          details = { done: outcome.done, total: outcome.total };
        },
      });
    } finally {
      if (!hold.released)
        await syncState.releaseLease(cluster.id, mode, owner).catch((error: unknown) => {
          this.deps.logger.warn('could not release the sync lease', {
            cluster_id: cluster.id,
            error: toSyncError(error),
          });
        });
    }
  }

  /**
   * Records a run whose task itself failed (killed at the Lambda timeout, or crashed) as a failure
   * of the cluster: `consecutive_errors` grows, the last error says what happened — for a timeout
   * how far the run got, from the progress on its lease — and the metrics carry it to the alarm.
   * A timed-out run kept its work, so it sets no backoff; a crash backs off like any failure.
   */
  async recordTaskFailure(cluster: ClusterConfig, mode: SyncMode, error: string): Promise<void> {
    const { syncState } = this.deps.repositories;
    const nowMs = this.deps.now();
    const [state, lease] = await Promise.all([
      syncState.getClusterState(cluster.id),
      syncState.getLease(cluster.id, mode),
    ]);
    const consecutive = (state?.consecutive_errors ?? 0) + 1;
    const timedOut = isTimeoutFailure(error);
    const message = timedOut
      ? timedOutMessage(
          lease ? lease.lease_expires_at - lease.acquired_at : 0,
          lease?.progress?.done ?? 0,
          lease?.progress?.total ?? null,
        )
      : toSyncError(`sync task failed: ${error}`);
    this.deps.logger.error('cluster sync task failed', { cluster_id: cluster.id, mode, error: message });
    await syncState.updateClusterState(cluster.id, {
      cluster_name: cluster.name,
      // The run may have written guests before it died: readers must not keep what they held.
      inventory_version: newVersionToken(),
      consecutive_errors: consecutive,
      backoff_until: timedOut ? null : nowMs + backoffDelayMs(consecutive, this.backoff),
      last_error: message,
      updated_at: nowMs,
    });
    const lastSuccessAt = state?.last_success_at ?? null;
    this.deps.metrics.publishClusterRun({
      clusterId: cluster.id,
      durationMs: lease ? Math.max(0, nowMs - lease.acquired_at) : 0,
      guests: null,
      changed: 0,
      writes: 1,
      errors: consecutive,
      secondsSinceLastSuccess:
        lastSuccessAt === null ? null : Math.max(0, Math.round((nowMs - lastSuccessAt) / 1000)),
      proxmoxCalls: 0,
    });
  }

  private async syncLeased(
    cluster: ClusterConfig,
    mode: SyncMode,
    state: ClusterState | null,
    startedAt: number,
    calls: CallCounter,
    writes: WriteBreakdown,
    finish: (
      summary: Omit<SyncSummary, 'cluster_id' | 'mode' | 'duration_ms' | 'proxmox_calls' | 'writes'>,
      state: { consecutiveErrors: number; lastSuccessAt: number | null; guests: number | null },
    ) => ClusterSyncResult,
    run: {
      budget: RunBudget;
      owner: string;
      lease: LeaseHold;
      requested: ReadonlySet<number> | null;
      reportDetails(outcome: DetailsOutcome): void;
    },
  ): Promise<ClusterSyncResult> {
    const version: VersionDebt = { dirty: false };
    try {
      return await this.syncObserved(cluster, mode, state, startedAt, calls, writes, finish, {
        ...run,
        version,
      });
    } catch (error) {
      // Guests written before the failure must not be hidden by the read cache's old version.
      if (version.dirty) await this.bumpVersion(cluster, writes, version).catch(() => undefined);
      throw error;
    }
  }

  /** Gives the cluster's guests a new version now (a full sync's batches: readers see them as they land). */
  private async bumpVersion(
    cluster: ClusterConfig,
    writes: WriteBreakdown,
    version: VersionDebt,
  ): Promise<void> {
    version.dirty = false;
    writes.state += (await this.deps.repositories.syncState.bumpInventoryVersion(cluster.id)).writes;
  }

  private async syncObserved(
    cluster: ClusterConfig,
    mode: SyncMode,
    state: ClusterState | null,
    startedAt: number,
    calls: CallCounter,
    writes: WriteBreakdown,
    finish: (
      summary: Omit<SyncSummary, 'cluster_id' | 'mode' | 'duration_ms' | 'proxmox_calls' | 'writes'>,
      state: { consecutiveErrors: number; lastSuccessAt: number | null; guests: number | null },
    ) => ClusterSyncResult,
    run: {
      budget: RunBudget;
      owner: string;
      lease: LeaseHold;
      requested: ReadonlySet<number> | null;
      reportDetails(outcome: DetailsOutcome): void;
      version: VersionDebt;
    },
  ): Promise<ClusterSyncResult> {
    const { inventory, syncState } = this.deps.repositories;
    const { version } = run;
    let gateway: ProxmoxGateway;
    let listing: ListingObservation;
    try {
      gateway = await this.deps.connect(cluster);
      const resources = await calls.track('resources', () => gateway.clusterResources());
      let nodeOnline: Map<string, boolean> | undefined;
      if (mode === 'full') nodeOnline = await this.nodeMembership(gateway, cluster, calls);
      listing = {
        clusterId: cluster.id,
        clusterName: cluster.name,
        observedAt: startedAt,
        guests: resources.guests,
        nodes: resources.nodes,
        full: mode === 'full',
        ...(nodeOnline ? { nodeOnline } : {}),
      };
    } catch (error) {
      if (error instanceof ProxmoxAuthError) this.deps.invalidate?.(cluster.id);
      const consecutive = (state?.consecutive_errors ?? 0) + 1;
      const message = toSyncError(error);
      this.deps.logger.error('cluster sync failed', { cluster_id: cluster.id, mode, error: message });
      const report = await syncState.updateClusterState(
        cluster.id,
        {
          cluster_name: cluster.name,
          // A failed attempt turns every guest stale: the read cache's version moves with it.
          inventory_version: newVersionToken(),
          last_attempt_at: startedAt,
          consecutive_errors: consecutive,
          backoff_until: startedAt + backoffDelayMs(consecutive, this.backoff),
          last_error: message,
          updated_at: this.deps.now(),
        },
        { releaseLease: { kind: run.lease.kind, owner: run.lease.owner } },
      );
      writes.state += report.writes;
      run.lease.released = report.leaseReleased;
      return finish(
        { ok: false, vms: state?.counts.total ?? 0, changed: 0, error: message },
        { consecutiveErrors: consecutive, lastSuccessAt: state?.last_success_at ?? null, guests: null },
      );
    }

    const [stored, runtimeSet] = await Promise.all([
      inventory.listAllClusterVms(cluster.id, { consistentRead: true }),
      syncState.readRuntimeSet(cluster.id),
    ]);
    const runtime = runtimeSet.runtime;
    const plan = planListing(listing, stored, runtime, state?.nodes ?? {}, (vm) => StoredVmSchema.parse(vm));
    const changed = new Set<number>();
    // New guests are stored from the listing first: a run that ends early has still shown them.
    const recheck: RemovalRecheck = { pending: state?.removals_to_recheck ?? [], next: [] };
    const inventoryWritesBefore = writes.inventory;
    try {
      await this.applyListingPlan(cluster, plan, startedAt, writes, changed, {
        bulkCreates: stored.length === 0,
        recheck,
      });
    } finally {
      if (writes.inventory > inventoryWritesBefore || changed.size > 0) version.dirty = true;
    }
    // A full sync takes minutes: its listing's writes are visible before its details.
    if (mode === 'full' && version.dirty) await this.bumpVersion(cluster, writes, version);

    let outcome: DetailsOutcome | null = null;
    let quickDetails: DetailsOutcome | null = null;
    if (mode === 'quick') {
      quickDetails = await this.syncPendingDetails(
        cluster,
        gateway,
        plan,
        stored,
        startedAt,
        calls,
        writes,
        changed,
        run,
      );
    }
    if (mode === 'full') {
      const before = new Map(stored.map((vm) => [vm.vmid, vm]));
      outcome = await this.syncDetails(
        cluster,
        gateway,
        plan,
        before,
        startedAt,
        calls,
        writes,
        changed,
        run,
      );
      run.reportDetails(outcome);
    }

    // A user's action that this observation confirms (or that expired) stops showing as pending.
    await mapLimited(plan.settledActions, SUSPEND_CONCURRENCY, async ({ vmid, since }) => {
      version.dirty = true;
      if (await inventory.clearPending({ cluster_id: cluster.id, vmid }, since)) {
        writes.inventory += 1;
        changed.add(vmid);
      }
    });

    // The cluster's runtime set is written only when a node's rounded values moved (or a node left),
    // and then whole: one item (one write unit for ~200 guests) instead of one per node.
    const nextRuntime = nextRuntimeSet(runtime, plan.runtimeWrites, plan.runtimeDeletes);
    if (nextRuntime !== null || runtimeSet.legacyKeys.length > 0) {
      const report = await syncState.writeRuntimeSet({
        clusterId: cluster.id,
        runtime: nextRuntime ?? runtime,
        observedAt: nextRuntimeSetTime(startedAt, runtimeSet.observedAt),
        previous: runtimeSet,
      });
      writes.runtime += report.writes;
    }
    if (mode === 'quick') {
      writes.history += await this.recordHistory(cluster.id, startedAt, state, listing, runtime);
    }

    // The listing was observed and written either way; the full sync failed if it left guests undone.
    const lastSuccessAt = Math.max(state?.last_success_at ?? 0, startedAt);
    const incomplete = outcome !== null && (outcome.done < outcome.total || outcome.unwritten > 0);
    const failure = incomplete && outcome ? this.incompleteMessage(outcome, startedAt) : null;
    const consecutiveErrors = failure === null ? 0 : (state?.consecutive_errors ?? 0) + 1;
    const patch: Partial<Omit<ClusterStateInput, 'cluster_id'>> = {
      cluster_name: cluster.name,
      // The pass's guest writes get a new version in the write that ends the pass (no extra write).
      ...(version.dirty || changed.size > 0 ? { inventory_version: newVersionToken() } : {}),
      last_success_at: lastSuccessAt,
      last_attempt_at: startedAt,
      consecutive_errors: consecutiveErrors,
      // No backoff after an incomplete run: it kept its work, and the next run goes on from there.
      backoff_until: null,
      last_error: failure,
      nodes: plan.nodes,
      counts: countVms(plan.view.values()),
      removals_to_recheck: recheck.next,
      updated_at: this.deps.now(),
    };
    if (mode === 'full' && failure === null) patch.last_full_sync_at = startedAt;
    if (mode === 'quick') patch.last_quick_sync_at = startedAt;
    const closing = await syncState.updateClusterState(cluster.id, patch, {
      releaseLease: { kind: run.lease.kind, owner: run.lease.owner },
    });
    writes.state += closing.writes;
    run.lease.released = closing.leaseReleased;
    if (failure !== null) {
      this.deps.logger.error('full sync incomplete', { cluster_id: cluster.id, error: failure });
    }

    // Asked for some guests' details (a live list): say whether all of them were read in time.
    const detailsDone = (o: DetailsOutcome | null): boolean =>
      o === null || (o.done === o.total && o.unwritten === 0);
    const requested =
      run.requested === null
        ? {}
        : { details_refreshed: detailsDone(mode === 'full' ? outcome : quickDetails) };
    return finish(
      failure === null
        ? { ok: true, vms: plan.rows.size, changed: changed.size, ...requested }
        : { ok: false, vms: plan.rows.size, changed: changed.size, error: failure, ...requested },
      { consecutiveErrors, lastSuccessAt, guests: plan.rows.size },
    );
  }

  /** The pass's metrics history (shared/sync/history-recorder.ts); a failure is logged, never fails the pass. */
  private async recordHistory(
    clusterId: string,
    observedAt: number,
    state: ClusterState | null,
    listing: ListingObservation,
    previousRuntime: ClusterRuntime,
  ): Promise<number> {
    try {
      const written = await recordQuickPassHistory(this.deps.repositories.history, {
        clusterId,
        observedAt,
        previousPassAt: state?.last_quick_sync_at ?? null,
        guests: listing.guests,
        previousRuntime,
      });
      return written.minute + written.quarter;
    } catch (error) {
      this.deps.logger.warn('could not record the metrics history', {
        cluster_id: clusterId,
        error: toSyncError(error),
      });
      return 0;
    }
  }

  /** The last error of a full sync that left guests undone (out of time, or writes refused). */
  private incompleteMessage(outcome: DetailsOutcome, startedAt: number): string {
    if (outcome.unwritten > 0) {
      return toSyncError(
        `could not write the details of ${outcome.unwritten} guest(s): ${outcome.writeError ?? 'unknown error'}`,
      );
    }
    return timedOutMessage(this.deps.now() - startedAt, outcome.done, outcome.total);
  }

  /** Node membership from `/cluster/status`; best effort (the listing's node rows stand in). */
  private async nodeMembership(
    gateway: ProxmoxGateway,
    cluster: ClusterConfig,
    calls: CallCounter,
  ): Promise<Map<string, boolean> | undefined> {
    try {
      const rows = await calls.track('cluster_status', () => gateway.clusterStatus());
      const online = new Map<string, boolean>();
      for (const row of rows) if (row.type === 'node') online.set(row.name, row.online);
      return online;
    } catch (error) {
      this.deps.logger.warn('cluster status unavailable, using the listing node rows', {
        cluster_id: cluster.id,
        error: toSyncError(error),
      });
      return undefined;
    }
  }

  /** Removals (with suspension of assignments), creations and listing changes, in that order. */
  private async applyListingPlan(
    cluster: ClusterConfig,
    plan: ListingPlan,
    observedAt: number,
    writes: WriteBreakdown,
    changed: Set<number>,
    options: { bulkCreates: boolean; recheck: RemovalRecheck },
  ): Promise<void> {
    const { inventory, ownership } = this.deps.repositories;
    const key = (vmid: number): VmKey => ({ cluster_id: cluster.id, vmid });
    // Earlier removals, once the index caught up (at once for a VMID that is back: before it is stored).
    const { due, keep } = splitDueRechecks(options.recheck.pending, observedAt, plan.rows);
    await mapLimited(due, SUSPEND_CONCURRENCY, async ({ vmid, removed_at }) => {
      const report = await ownership.suspendVm(key(vmid), removed_at, { createdBefore: removed_at });
      writes.ownership += report.writes;
      if (report.writes > 0) {
        this.deps.logger.info('suspended an assignment the first lookup missed', {
          cluster_id: cluster.id,
          vmid,
        });
      }
    });
    options.recheck.next = keep;
    if (plan.removals.length > 0) {
      const removed = await inventory.deleteVms(
        plan.removals.map((vmid) => ({ key: key(vmid), observedAt })),
      );
      writes.inventory += removed.writes;
      // A VMID may be reused by a new guest: its old owners must never see that one.
      const removedAt = this.deps.now();
      await mapLimited(removed.applied, SUSPEND_CONCURRENCY, async (vmKey) => {
        writes.ownership += (await ownership.suspendVm(vmKey, observedAt)).writes;
        changed.add(vmKey.vmid);
      });
      options.recheck.next = [
        ...options.recheck.next,
        ...removed.applied.map((vmKey) => ({ vmid: vmKey.vmid, removed_at: removedAt })),
      ].slice(-MAX_REMOVALS_TO_RECHECK);
      for (const vmKey of removed.rejected) {
        this.deps.logger.info('removal deferred: a newer action or observation wrote the guest', {
          cluster_id: cluster.id,
          vmid: vmKey.vmid,
        });
      }
    }
    await this.createVms(cluster, plan.creates, writes, changed, options.bulkCreates);
    if (plan.changes.length > 0) {
      const result = await inventory.applyChanges(
        plan.changes.map((change) => ({ key: key(change.vmid), observedAt, set: change.set })),
      );
      writes.inventory += result.writes;
      for (const vmKey of result.applied) changed.add(vmKey.vmid);
    }
  }

  /**
   * Stores guests seen for the first time, each refused if another run stored it meanwhile. The
   * first load of a cluster (nothing stored yet) uses batch writes instead: no user action can
   * exist for a guest that was never shown, and 25 items per request make the first sync of a
   * large cluster much faster.
   */
  private async createVms(
    cluster: ClusterConfig,
    items: readonly NewStoredVm[],
    writes: WriteBreakdown,
    changed: Set<number>,
    bulk: boolean,
  ): Promise<void> {
    if (items.length === 0) return;
    if (bulk) {
      try {
        writes.inventory += (await this.deps.repositories.inventory.batchPut(items)).writes;
      } catch (error) {
        if (!(error instanceof BatchWriteIncompleteError)) throw error;
        // What was written stays; the guests left out are new again for the next run.
        writes.inventory += error.written.writes;
        this.deps.logger.warn('some new guests could not be stored yet', {
          cluster_id: cluster.id,
          error: toSyncError(error),
        });
      }
      for (const vm of items) changed.add(vm.vmid);
      return;
    }
    const created = await this.deps.repositories.inventory.putNew(items);
    writes.inventory += created.writes;
    for (const vmKey of created.applied) changed.add(vmKey.vmid);
  }

  /**
   * Quick sync: the details of guests first seen by a listing (`details_pending`), so that they are
   * complete within one quick interval, the address of guests that just booted (with a backoff),
   * and the address of the guests a live list asked for (`run.requested`). Calls are proportional
   * to those guests (at most {@link PENDING_DETAILS_PER_PASS} of each kind per pass, the rest in
   * the next ones), never to the fleet. Null when there was nothing to read.
   */
  private async syncPendingDetails(
    cluster: ClusterConfig,
    gateway: ProxmoxGateway,
    plan: ListingPlan,
    stored: readonly StoredVm[],
    observedAt: number,
    calls: CallCounter,
    writes: WriteBreakdown,
    changed: Set<number>,
    run: { budget: RunBudget; owner: string; requested: ReadonlySet<number> | null; version: VersionDebt },
  ): Promise<DetailsOutcome | null> {
    const pending = pendingDetailTargets(plan);
    // Read now, whatever the caches and the after-boot backoff say: the addresses are asked for.
    const asked = new Set([...bootedIpTargets(plan, observedAt), ...requestedIpTargets(plan, run.requested)]);
    if (pending.size === 0 && asked.size === 0) return null;
    const before = new Map(stored.map((vm) => [vm.vmid, vm]));
    return this.syncDetails(
      cluster,
      gateway,
      plan,
      before,
      observedAt,
      calls,
      writes,
      changed,
      run,
      new Set([...pending, ...asked]),
      { afterBoot: asked, noRotation: true, recordProgress: false },
    );
  }

  /**
   * Full sync: configs, IPs and reachability of the observable guests (or of `only`), per node in
   * parallel (see `node-queues.ts`); each guest's result goes to a writer that stores batches as
   * they fill, so what is done is kept when the run stops. Guests whose config was never read go
   * first, so the next run continues where this one stopped. No guest starts once the run's budget
   * says stop; results still in flight when the budget runs out are dropped (not written). A guest
   * whose identity changed (a recycled VMID) is replaced, not updated.
   */
  private async syncDetails(
    cluster: ClusterConfig,
    gateway: ProxmoxGateway,
    plan: ListingPlan,
    before: ReadonlyMap<number, StoredVm>,
    observedAt: number,
    calls: CallCounter,
    writes: WriteBreakdown,
    changed: Set<number>,
    run: { budget: RunBudget; owner: string; version: VersionDebt },
    only?: ReadonlySet<number>,
    /**
     * `afterBoot`: guests whose live IP is read now whatever the caches say (booted guests, and
     * those a live list asked for); `noRotation`: a quick pass (configs read only for a reason);
     * `recordProgress: false`: no lease progress (a quick pass's few guests).
     */
    options: { afterBoot?: ReadonlySet<number>; noRotation?: boolean; recordProgress?: boolean } = {},
  ): Promise<DetailsOutcome> {
    const targets: StoredVm[] = [];
    for (const vmid of only ?? plan.observable) {
      const vm = plan.view.get(vmid);
      if (vm) targets.push(vm);
    }
    const neverRead = (vm: StoredVm): number => (vm.config_checked_at === null ? 0 : 1);
    targets.sort((a, b) => neverRead(a) - neverRead(b));

    const { syncState } = this.deps.repositories;
    let done = 0;
    let closed = false;
    const writer = new DetailWriter({
      inventory: this.deps.repositories.inventory,
      flushSize: DETAIL_FLUSH_SIZE,
      flushIntervalMs: DETAIL_FLUSH_INTERVAL_MS,
      now: () => this.deps.now(),
      onWritten: (result) => {
        if (result.writes > 0) run.version.dirty = true;
        writes.inventory += result.writes;
        for (const vmKey of result.applied) changed.add(vmKey.vmid);
        for (const vmKey of result.rejected) {
          const original = before.get(vmKey.vmid);
          if (original) plan.view.set(vmKey.vmid, original);
        }
      },
      onFlushed: async (doneAtFlush) => {
        // Progress is the full sync's (a killed run's report); a quick pass's few guests need none.
        if (options.recordProgress === false) return;
        // Each batch a full sync writes is visible at once (the quick pass: in the write that ends it).
        if (run.version.dirty) await this.bumpVersion(cluster, writes, run.version);
        await syncState
          .recordLeaseProgress(cluster.id, 'full', run.owner, {
            done: doneAtFlush,
            total: targets.length,
            at: this.deps.now(),
          })
          .catch((error: unknown) => {
            this.deps.logger.warn('could not record the sync progress', {
              cluster_id: cluster.id,
              error: toSyncError(error),
            });
          });
      },
      onError: (error, batch) => {
        run.version.dirty = true;
        this.deps.logger.error('guest details could not be written', {
          cluster_id: cluster.id,
          guests: batch.length,
          error: toSyncError(error),
        });
      },
    });
    const probeSlots = new Limiter(
      Math.max(1, Math.floor((this.deps.probeConcurrency ?? DEFAULT_PROBE_CONCURRENCY) / 2)),
    );
    const continuations = new Set<Promise<void>>();
    const recycled: NewStoredVm[] = [];

    // Reachability of every running guest with an IP (RDP/SSH may open or close at any time).
    const probeAndStore = async (detail: GuestDetails): Promise<void> => {
      const vm = plan.view.get(detail.vmid);
      let probed: ProbeResult | undefined;
      const ip = detail.set.ip === undefined ? vm?.ip : detail.set.ip;
      if (vm?.status === 'running' && ip) {
        await probeSlots.acquire();
        try {
          probed = (await probeGuests([{ vmid: detail.vmid, ip }], this.probeOptions(cluster))).get(
            detail.vmid,
          );
        } finally {
          probeSlots.release();
        }
      }
      if (closed) return;
      if (detail.recycled && vm) {
        // Another guest now has this VMID: replaced after the details are in (see below).
        const item = recycledGuestItem(
          vm,
          { ...detail.set, rdp_available: probed?.rdp ?? false, ssh_available: probed?.ssh ?? false },
          observedAt,
        );
        recycled.push(item);
        plan.view.set(detail.vmid, storedFromNew(item));
        done += 1;
        writer.progress(done);
        return;
      }
      const change = this.detailChange(cluster, plan, detail, probed, observedAt);
      done += 1;
      if (change) writer.add(change, done);
      else writer.progress(done);
      await writer.flushIfDue();
    };

    const detailsStart = this.deps.now();
    const work = runPerNode(
      targets,
      {
        nodeOf: (vm) => vm.node,
        perNode: cluster.maxInFlightPerNode,
        total: DETAIL_CONCURRENCY,
        mayStart: () => mayStart(run.budget, this.deps.now()),
      },
      async (vm) => {
        const detail = await this.guestDetails(
          cluster,
          gateway,
          plan,
          before.get(vm.vmid),
          vm,
          observedAt,
          calls,
          {
            afterBoot: options.afterBoot?.has(vm.vmid) === true,
            noRotation: options.noRotation === true,
          },
        );
        if (closed) return;
        // The node's slot is free for the next guest while this one is probed and written.
        const next = probeAndStore(detail).catch((error: unknown) => {
          this.deps.logger.error('guest details failed', {
            cluster_id: cluster.id,
            vmid: vm.vmid,
            error: toSyncError(error),
          });
        });
        continuations.add(next);
        void next.finally(() => continuations.delete(next));
      },
    ).then(async () => {
      while (continuations.size > 0) await Promise.all([...continuations]);
    });
    const abandonAt = run.budget.abandonAt;
    if (abandonAt === null) {
      await work;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, abandonAt - this.deps.now()));
      });
      await Promise.race([work, expired]);
      clearTimeout(timer);
    }
    closed = true;
    await writer.close();
    await this.replaceRecycled(cluster, recycled, observedAt, writes, changed);
    this.deps.logger.debug('full sync details done', {
      cluster_id: cluster.id,
      guests: targets.length,
      done,
      details_ms: this.deps.now() - detailsStart,
    });
    return {
      done: writer.durableDone,
      total: targets.length,
      unwritten: writer.unwritten,
      writeError: writer.firstError,
    };
  }

  private probeOptions(cluster: ClusterConfig): Parameters<typeof probeGuests>[1] {
    return {
      ports: cluster.probePorts,
      ...(this.deps.probe ? { probe: this.deps.probe } : {}),
      timeoutMs: this.deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      // A simulated cluster's guests live in 127.0.0.0/8: never probe anything else for it.
      ...(cluster.simulated ? { allowAddress: isLoopbackAddress } : {}),
    };
  }

  /**
   * The write a guest's details call for (and the plan's view updated to it), or null: a rotation
   * read that found nothing new is not worth a write (the rotation needs no memory).
   */
  private detailChange(
    cluster: ClusterConfig,
    plan: ListingPlan,
    detail: GuestDetails,
    probed: ProbeResult | undefined,
    observedAt: number,
  ): VmChange | null {
    const vm = plan.view.get(detail.vmid);
    if (!vm) return null;
    const desired: Partial<StoredVmAttributes> = {
      ...detail.set,
      rdp_available: probed?.rdp ?? false,
      ssh_available: probed?.ssh ?? false,
    };
    const set = diffAttributes(vm, desired);
    const substantive = Object.keys(set).some((name) => !BOOKKEEPING_ATTRIBUTES.has(name));
    if (!substantive && !detail.recordCheck) return null;
    if (Object.keys(set).length === 0) return null;
    plan.view.set(detail.vmid, applyAttributes(vm, set));
    return { key: { cluster_id: cluster.id, vmid: detail.vmid }, observedAt, set };
  }

  /**
   * Guests whose VMID now names another guest (identity changed): removed like a vanished guest
   * (assignments suspended, so the old owners never see the new one) and stored as new.
   */
  private async replaceRecycled(
    cluster: ClusterConfig,
    items: readonly NewStoredVm[],
    observedAt: number,
    writes: WriteBreakdown,
    changed: Set<number>,
  ): Promise<void> {
    if (items.length === 0) return;
    const { inventory, ownership } = this.deps.repositories;
    const removed = await inventory.deleteVms(
      items.map((item) => ({ key: { cluster_id: cluster.id, vmid: item.vmid }, observedAt })),
    );
    writes.inventory += removed.writes;
    await mapLimited(removed.applied, SUSPEND_CONCURRENCY, async (vmKey) => {
      writes.ownership += (await ownership.suspendVm(vmKey, observedAt)).writes;
      changed.add(vmKey.vmid);
    });
    const removedIds = new Set(removed.applied.map((key) => key.vmid));
    this.deps.logger.info('VMID reused by another guest: old assignments suspended', {
      cluster_id: cluster.id,
      vmids: [...removedIds],
    });
    await this.createVms(
      cluster,
      items.filter((item) => removedIds.has(item.vmid)),
      writes,
      changed,
      false,
    );
  }

  /** Config (when due), live IP (when due) of one guest, turned into desired attributes. */
  private async guestDetails(
    cluster: ClusterConfig,
    gateway: ProxmoxGateway,
    plan: ListingPlan,
    before: StoredVm | undefined,
    vm: StoredVm,
    observedAt: number,
    calls: CallCounter,
    options: { afterBoot: boolean; noRotation: boolean } = { afterBoot: false, noRotation: false },
  ): Promise<GuestDetails> {
    const row = plan.rows.get(vm.vmid);
    const planned = row ? configReadReason(before, vm, row, observedAt, this.fullIntervalMs) : null;
    // A quick pass reads configs only for a reason, never for the full sync's rotation.
    const reason = options.noRotation && planned === 'rotation' ? null : planned;
    const set: Partial<StoredVmAttributes> = {};
    const errors: string[] = [];
    let config: ConfigDetails | null = null;
    let raw: GuestConfig | undefined;
    if (reason !== null && row) {
      try {
        raw = await calls.track('config', () => gateway.guestConfig(vm.node, vm.type, vm.vmid));
        config = detailsFromConfig(vm.type, raw, row);
        Object.assign(set, config.set, { config_checked_at: observedAt, details_pending: false });
      } catch (error) {
        // A guest destroyed or migrated since the listing: the next listing tells.
        if (!(error instanceof ProxmoxNotFoundError)) errors.push(`config: ${toSyncError(error)}`);
      }
    }
    const current: StoredVm = config ? applyAttributes(vm, config.set) : vm;
    const source = ipSourceFor(current, observedAt, config !== null, config?.agentEnabled, options.afterBoot);
    let live: LiveIpOutcome | null = null;
    if (source === 'agent') {
      try {
        const entries = await calls.track('agent', () => gateway.agentInterfaces(vm.node, vm.vmid));
        live = { kind: 'ok', interfaces: interfacesFromAgent(entries) };
      } catch (error) {
        live = classifyLiveIpError(error);
      }
    } else if (source === 'lxc') {
      try {
        const entries = await calls.track('interfaces', () => gateway.lxcInterfaces(vm.node, vm.vmid));
        live = { kind: 'ok', interfaces: interfacesFromLxc(entries) };
      } catch (error) {
        live =
          error instanceof ProxmoxInvalidResponseError
            ? { kind: 'error', message: toSyncError(error) }
            : classifyLiveIpError(error);
      }
    }
    if (live?.kind === 'error') errors.push(`ip: ${live.message}`);
    Object.assign(
      set,
      ipAttributes({ vm: current, nowMs: observedAt, simulated: cluster.simulated, config, live }),
    );
    if (config !== null || live !== null) {
      set.last_updated = observedAt;
      set.sync_error = errors.length > 0 ? toSyncError(errors.join('; ')) : null;
    } else if (errors.length > 0) {
      set.sync_error = toSyncError(errors.join('; '));
    }
    const bootedSinceCheck =
      vm.ip_checked_at === null || (vm.boot_time !== null && vm.boot_time > vm.ip_checked_at);
    // An after-boot read is always recorded: its time paces the next one (needsIpAfterBoot).
    const recordCheck =
      reason === 'new' ||
      reason === 'changed' ||
      reason === 'ip-fallback' ||
      (live !== null && (bootedSinceCheck || options.afterBoot));
    const recycled = config !== null && isRecycledGuest(vm, identityFromConfig(vm.type, raw ?? {}));
    return { vmid: vm.vmid, reason, set, recordCheck, recycled };
  }
}

/** Most guests whose pending details one quick pass reads (a burst of new guests spreads over passes). */
export const PENDING_DETAILS_PER_PASS = 50;

/**
 * The mode a run really uses: a quick pass of a cluster that never had a successful full sync
 * (no state, or no `last_full_sync_at`) becomes that first full sync.
 */
export function firstSyncMode(
  requested: SyncMode,
  state: Pick<ClusterState, 'last_full_sync_at'> | null,
): SyncMode {
  return requested === 'quick' && (state?.last_full_sync_at ?? null) === null ? 'full' : requested;
}

/** Observable guests whose details are pending, lowest VMIDs first, at most one pass's worth. */
export function pendingDetailTargets(
  plan: Pick<ListingPlan, 'observable' | 'view'>,
  limit = PENDING_DETAILS_PER_PASS,
): Set<number> {
  const pending = [...plan.observable]
    .filter((vmid) => plan.view.get(vmid)?.details_pending === true)
    .sort((a, b) => a - b);
  return new Set(pending.slice(0, limit));
}

/**
 * The item of a new guest found under a stored guest's VMID: what the listing and this pass's
 * details say, none of the old guest's bookkeeping (agent cache, errors, pending action).
 */
export function recycledGuestItem(
  listed: StoredVm,
  details: Partial<StoredVmAttributes>,
  observedAt: number,
): NewStoredVm {
  const {
    pending_action: _action,
    pending_since: _since,
    pending_upid: _upid,
    agent_state: _agent,
    agent_retry_at: _retry,
    sync_error: _error,
    ...kept
  } = listed;
  return { ...kept, ...details, details_pending: false, observed_at: observedAt, last_updated: observedAt };
}

/**
 * Observable guests that booted within the after-boot window and still have no live IP read since:
 * a quick pass asks them again (a started VM gets its address without waiting for the full sync).
 */
export function bootedIpTargets(
  plan: Pick<ListingPlan, 'observable' | 'view'>,
  nowMs: number,
  limit = PENDING_DETAILS_PER_PASS,
): Set<number> {
  const booted: number[] = [];
  for (const vmid of plan.observable) {
    const vm = plan.view.get(vmid);
    if (vm !== undefined && needsIpAfterBoot(vm, nowMs)) booted.push(vmid);
  }
  return new Set(booted.sort((a, b) => a - b).slice(0, limit));
}

/**
 * The guests of a live list's refresh whose address a quick pass reads: those the listing shows on
 * an online node, at most {@link MAX_REFRESH_VMIDS} (the contract's bound).
 */
export function requestedIpTargets(
  plan: Pick<ListingPlan, 'observable'>,
  requested: ReadonlySet<number> | null,
): Set<number> {
  if (requested === null) return new Set();
  return new Set([...requested].filter((vmid) => plan.observable.has(vmid)).slice(0, MAX_REFRESH_VMIDS));
}

/** Parses a new item the way the repository stores it (defaults applied). */
export function storedFromNew(vm: NewStoredVm): StoredVm {
  return StoredVmSchema.parse(vm);
}

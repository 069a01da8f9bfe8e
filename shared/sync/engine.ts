import { randomUUID } from 'node:crypto';
import type { ClusterConfig } from '#shared/config/clusters.ts';
import type { ClusterState, ClusterStateInput } from '#shared/domain/sync-state.ts';
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
import type { Repositories } from '#shared/store/ports.ts';
import { type BackoffPolicy, backoffDelayMs, DEFAULT_BACKOFF, isBackingOff } from './backoff.ts';
import type { SyncMode, SyncSummary } from './contract.ts';
import { applyAttributes, diffAttributes } from './diff.ts';
import { identityFromConfig, isRecycledGuest } from './guest-identity.ts';
import type { SyncMetricsSink } from './metrics.ts';
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
import { DEFAULT_PROBE_TIMEOUT_MS, isLoopbackAddress, probeGuests, type TcpProbe } from './probe.ts';
import { toSyncError } from './sync-error.ts';

/**
 * The sync of one cluster (quick or full): backoff, lease, one listing, planning in code, guarded
 * writes of what changed, per-guest details (full), sync state and metrics. Proxmox failures end
 * as an `ok: false` summary, never as an exception.
 */

/** Lease lifetimes: longer than the longest run of each kind, so a crashed run frees it soon. */
export const DEFAULT_LEASE_TTL_MS: Readonly<Record<SyncMode, number>> = {
  quick: 60_000,
  full: 6 * 60_000,
};

/** Per-guest Proxmox calls of a full sync in flight at once (the client also limits each node to 3). */
const DETAIL_CONCURRENCY = 48;
/** Ownership suspensions in flight at once. */
const SUSPEND_CONCURRENCY = 8;

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
export interface WriteBreakdown {
  /** VM items (creations, changes, removals) */
  inventory: number;
  /** per-node runtime chunks */
  runtime: number;
  /** the cluster's sync state item */
  state: number;
  /** assignments suspended because their guest was removed */
  ownership: number;
}

/** A summary plus what tests and benchmarks want to see in more detail. */
export interface ClusterSyncResult {
  summary: SyncSummary;
  writes: WriteBreakdown;
  calls: Record<EndpointClass, number> & { total: number };
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
    options: { manual?: boolean } = {},
  ): Promise<ClusterSyncResult> {
    const { syncState } = this.deps.repositories;
    const state = await syncState.getClusterState(cluster.id);
    // A cluster that never had a full sync (new deployment, newly configured cluster, empty table)
    // gets it at once instead of showing detail-less guests until the next full-sync tick.
    const mode = firstSyncMode(requested, state);
    const startedAt = this.deps.now();
    const calls = new CallCounter();
    const writes: WriteBreakdown = { inventory: 0, runtime: 0, state: 0, ownership: 0 };
    const finish = (
      summary: Omit<SyncSummary, 'cluster_id' | 'mode' | 'duration_ms' | 'proxmox_calls' | 'writes'>,
      state: { consecutiveErrors: number; lastSuccessAt: number | null; guests: number | null },
    ): ClusterSyncResult => {
      const durationMs = Math.max(0, this.deps.now() - startedAt);
      const total = writes.inventory + writes.runtime + writes.state + writes.ownership;
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
      return { summary: full, writes, calls: calls.counts };
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
      ttlMs: this.deps.leaseTtlMs?.[mode] ?? DEFAULT_LEASE_TTL_MS[mode],
      nowMs: startedAt,
    });
    if (!lease.acquired) {
      return finish(
        { ok: true, skipped: `${mode} sync already running`, vms: state?.counts.total ?? 0, changed: 0 },
        previous,
      );
    }
    try {
      return await this.syncLeased(cluster, mode, state, startedAt, calls, writes, finish);
    } finally {
      await syncState.releaseLease(cluster.id, mode, owner).catch((error: unknown) => {
        this.deps.logger.warn('could not release the sync lease', {
          cluster_id: cluster.id,
          error: toSyncError(error),
        });
      });
    }
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
  ): Promise<ClusterSyncResult> {
    const { inventory, syncState } = this.deps.repositories;
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
      const report = await syncState.updateClusterState(cluster.id, {
        cluster_name: cluster.name,
        last_attempt_at: startedAt,
        consecutive_errors: consecutive,
        backoff_until: startedAt + backoffDelayMs(consecutive, this.backoff),
        last_error: message,
        updated_at: this.deps.now(),
      });
      writes.state += report.writes;
      return finish(
        { ok: false, vms: state?.counts.total ?? 0, changed: 0, error: message },
        { consecutiveErrors: consecutive, lastSuccessAt: state?.last_success_at ?? null, guests: null },
      );
    }

    const [stored, runtime] = await Promise.all([
      inventory.listAllClusterVms(cluster.id, { consistentRead: true }),
      syncState.readRuntime(cluster.id),
    ]);
    const plan = planListing(listing, stored, runtime, state?.nodes ?? {}, (vm) => StoredVmSchema.parse(vm));
    const changed = new Set<number>();
    // A full sync stores new guests once, with their details, instead of creating then updating them.
    await this.applyListingPlan(cluster, plan, startedAt, writes, changed, {
      deferCreates: mode === 'full',
      bulkCreates: stored.length === 0,
    });

    if (mode === 'quick') {
      await this.syncPendingDetails(cluster, gateway, plan, stored, startedAt, calls, writes, changed);
    }
    if (mode === 'full') {
      const before = new Map(stored.map((vm) => [vm.vmid, vm]));
      const created = new Set(plan.creates.map((vm) => vm.vmid));
      await this.syncDetails(cluster, gateway, plan, before, startedAt, calls, writes, changed, created);
      await this.createVms(
        plan.creates.map((vm) => plan.view.get(vm.vmid) ?? vm),
        writes,
        changed,
        stored.length === 0,
      );
    }

    // A user's action that this observation confirms (or that expired) stops showing as pending.
    await mapLimited(plan.settledActions, SUSPEND_CONCURRENCY, async ({ vmid, since }) => {
      if (await inventory.clearPending({ cluster_id: cluster.id, vmid }, since)) {
        writes.inventory += 1;
        changed.add(vmid);
      }
    });

    for (const write of plan.runtimeWrites) {
      const report = await syncState.writeNodeRuntime({
        clusterId: cluster.id,
        node: write.node,
        stats: write.stats,
        observedAt: startedAt,
        ...(write.previousChunkCount === undefined ? {} : { previousChunkCount: write.previousChunkCount }),
      });
      writes.runtime += report.writes;
    }
    for (const node of plan.runtimeDeletes) {
      writes.runtime += (await syncState.deleteNodeRuntime(cluster.id, node)).writes;
    }

    const lastSuccessAt = Math.max(state?.last_success_at ?? 0, startedAt);
    const patch: Partial<Omit<ClusterStateInput, 'cluster_id'>> = {
      cluster_name: cluster.name,
      last_success_at: lastSuccessAt,
      last_attempt_at: startedAt,
      consecutive_errors: 0,
      backoff_until: null,
      last_error: null,
      nodes: plan.nodes,
      counts: countVms(plan.view.values()),
      updated_at: this.deps.now(),
    };
    if (mode === 'full') patch.last_full_sync_at = startedAt;
    else patch.last_quick_sync_at = startedAt;
    writes.state += (await syncState.updateClusterState(cluster.id, patch)).writes;

    return finish(
      { ok: true, vms: plan.rows.size, changed: changed.size },
      { consecutiveErrors: 0, lastSuccessAt, guests: plan.rows.size },
    );
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
    options: { deferCreates: boolean; bulkCreates: boolean },
  ): Promise<void> {
    const { inventory, ownership } = this.deps.repositories;
    const key = (vmid: number): VmKey => ({ cluster_id: cluster.id, vmid });
    if (plan.removals.length > 0) {
      const removed = await inventory.deleteVms(
        plan.removals.map((vmid) => ({ key: key(vmid), observedAt })),
      );
      writes.inventory += removed.writes;
      // A VMID may be reused by a new guest: its old owners must never see that one.
      await mapLimited(removed.applied, SUSPEND_CONCURRENCY, async (vmKey) => {
        writes.ownership += (await ownership.suspendVm(vmKey, observedAt)).writes;
        changed.add(vmKey.vmid);
      });
      for (const vmKey of removed.rejected) {
        this.deps.logger.info('removal deferred: a newer action or observation wrote the guest', {
          cluster_id: cluster.id,
          vmid: vmKey.vmid,
        });
      }
    }
    if (!options.deferCreates) await this.createVms(plan.creates, writes, changed, options.bulkCreates);
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
    items: readonly NewStoredVm[],
    writes: WriteBreakdown,
    changed: Set<number>,
    bulk: boolean,
  ): Promise<void> {
    if (items.length === 0) return;
    if (bulk) {
      writes.inventory += (await this.deps.repositories.inventory.batchPut(items)).writes;
      for (const vm of items) changed.add(vm.vmid);
      return;
    }
    const created = await this.deps.repositories.inventory.putNew(items);
    writes.inventory += created.writes;
    for (const vmKey of created.applied) changed.add(vmKey.vmid);
  }

  /**
   * Quick sync: the details of guests first seen by a listing (`details_pending`), so that they are
   * complete within one quick interval. Calls are proportional to the new guests (at most
   * {@link PENDING_DETAILS_PER_PASS} per pass, the rest in the next ones), never to the fleet.
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
  ): Promise<void> {
    const pending = pendingDetailTargets(plan);
    const booted = bootedIpTargets(plan, observedAt);
    if (pending.size === 0 && booted.size === 0) return;
    const before = new Map(stored.map((vm) => [vm.vmid, vm]));
    await this.syncDetails(
      cluster,
      gateway,
      plan,
      before,
      observedAt,
      calls,
      writes,
      changed,
      new Set(),
      new Set([...pending, ...booted]),
      { afterBoot: booted, noRotation: true },
    );
  }

  /**
   * Full sync: configs, IPs and reachability of the observable guests; writes what changed. The
   * details of guests in `created` only update the plan's view: they are stored with the creation.
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
    created: ReadonlySet<number>,
    only?: ReadonlySet<number>,
    options: { afterBoot?: ReadonlySet<number>; noRotation?: boolean } = {},
  ): Promise<void> {
    const targets: StoredVm[] = [];
    for (const vmid of only ?? plan.observable) {
      const vm = plan.view.get(vmid);
      if (vm) targets.push(vm);
    }
    const detailsStart = this.deps.now();
    const details = await mapLimited(targets, DETAIL_CONCURRENCY, (vm) =>
      this.guestDetails(cluster, gateway, plan, before.get(vm.vmid), vm, observedAt, calls, {
        afterBoot: options.afterBoot?.has(vm.vmid) === true,
        noRotation: options.noRotation === true,
      }),
    );

    // Reachability of every running guest with an IP (RDP/SSH may open or close at any time).
    const probeTargets: { vmid: number; ip: string }[] = [];
    for (const detail of details) {
      const vm = plan.view.get(detail.vmid);
      if (vm?.status !== 'running') continue;
      const ip = detail.set.ip === undefined ? vm.ip : detail.set.ip;
      if (ip) probeTargets.push({ vmid: detail.vmid, ip });
    }
    const probesStart = this.deps.now();
    const reachability = await probeGuests(probeTargets, {
      ports: cluster.probePorts,
      ...(this.deps.probe ? { probe: this.deps.probe } : {}),
      timeoutMs: this.deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      ...(this.deps.probeConcurrency ? { concurrency: this.deps.probeConcurrency } : {}),
      // A simulated cluster's guests live in 127.0.0.0/8: never probe anything else for it.
      ...(cluster.simulated ? { allowAddress: isLoopbackAddress } : {}),
    });
    this.deps.logger.debug('full sync details done', {
      cluster_id: cluster.id,
      guests: targets.length,
      details_ms: probesStart - detailsStart,
      probes_ms: this.deps.now() - probesStart,
      probes: probeTargets.length,
    });

    const changes: { key: VmKey; observedAt: number; set: Partial<StoredVmAttributes> }[] = [];
    const recycled: NewStoredVm[] = [];
    for (const detail of details) {
      const vm = plan.view.get(detail.vmid);
      if (!vm) continue;
      const probed = reachability.get(detail.vmid);
      const desired: Partial<StoredVmAttributes> = {
        ...detail.set,
        rdp_available: probed?.rdp ?? false,
        ssh_available: probed?.ssh ?? false,
      };
      if (detail.recycled && !created.has(detail.vmid)) {
        const item = recycledGuestItem(vm, desired, observedAt);
        recycled.push(item);
        plan.view.set(detail.vmid, storedFromNew(item));
        continue;
      }
      const set = diffAttributes(vm, desired);
      const bookkeeping = new Set(['config_checked_at', 'ip_checked_at', 'last_updated', 'agent_retry_at']);
      const substantive = Object.keys(set).some((name) => !bookkeeping.has(name));
      // A rotation read that found nothing new is not worth a write: the rotation needs no memory.
      if (!substantive && !detail.recordCheck) continue;
      if (Object.keys(set).length === 0) continue;
      plan.view.set(detail.vmid, applyAttributes(vm, set));
      if (!created.has(detail.vmid))
        changes.push({ key: { cluster_id: cluster.id, vmid: detail.vmid }, observedAt, set });
    }
    await this.replaceRecycled(cluster, recycled, observedAt, writes, changed);
    if (changes.length > 0) {
      const result = await this.deps.repositories.inventory.applyChanges(changes);
      writes.inventory += result.writes;
      for (const vmKey of result.applied) changed.add(vmKey.vmid);
      for (const vmKey of result.rejected) {
        const original = before.get(vmKey.vmid);
        if (original) plan.view.set(vmKey.vmid, original);
      }
    }
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
    const recordCheck =
      reason === 'new' ||
      reason === 'changed' ||
      reason === 'ip-fallback' ||
      (live !== null && bootedSinceCheck);
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

/** Parses a new item the way the repository stores it (defaults applied). */
export function storedFromNew(vm: NewStoredVm): StoredVm {
  return StoredVmSchema.parse(vm);
}

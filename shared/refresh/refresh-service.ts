import { randomUUID } from 'node:crypto';
import type { RefreshClustersPort, RefreshClustersRequest } from '#shared/api/refresh-port.ts';
import type { ClusterRefreshReport } from '#shared/http/schemas/vms.ts';
import type { SyncStateRepository } from '#shared/store/ports.ts';
import { MAX_REFRESH_VMIDS, type SyncMode } from '#shared/sync/contract.ts';
import type { RefreshRecord, RefreshStore } from './refresh-store.ts';
import type { SyncInvoker } from './sync-invoker.ts';

/** At most one refresh of a cluster starts per this interval (issue 5: 5 s). */
export const DEFAULT_REFRESH_INTERVAL_MS = 5_000;
/** A refresh still marked running after this long is taken as crashed (its Lambda was frozen or killed). */
export const DEFAULT_REFRESH_RUNNING_TIMEOUT_MS = 30_000;
/** Pause between reads of a refresh that another instance runs. */
export const DEFAULT_REFRESH_POLL_MS = 200;

/**
 * What happened to one cluster:
 * - `refreshed`: this request synced it (or waited for a sync already under way);
 * - `joined`: another request's refresh was running and ended in time;
 * - `recent`: a refresh ended less than the interval ago, so none was started;
 * - `failed`: the sync (or the recent one) failed, e.g. Proxmox unreachable;
 * - `timeout`: not over by the deadline (the sync goes on; the answer is flagged stale).
 */
export type ClusterRefreshOutcome = 'refreshed' | 'joined' | 'recent' | 'failed' | 'timeout';

/**
 * Whether the addresses (live IP, RDP/SSH) a request asked for were re-read: `none` asked, all
 * `read` by the refresh it ran or joined, or `missed` (out of time, or the refresh it joined read
 * other guests' or none).
 */
export type DetailsRefresh = 'none' | 'read' | 'missed';

/** The outcome of one cluster's refresh. */
export interface ClusterRefresh {
  readonly cluster_id: string;
  readonly outcome: ClusterRefreshOutcome;
  readonly details: DetailsRefresh;
  /**
   * true when the table now holds a successful observation made for (or during) this request,
   * with the addresses it asked for
   */
  readonly complete: boolean;
}

/** Where the refresh logs. */
export interface RefreshLogger {
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** Dependencies of {@link createRefreshService}. */
export interface RefreshServiceDeps {
  readonly store: RefreshStore;
  readonly invoker: SyncInvoker;
  /** To wait for a sync that was already running when the refresh asked (its lease was taken). */
  readonly syncState: Pick<SyncStateRepository, 'getClusterState'>;
  /** epoch ms (default Date.now) */
  readonly now?: () => number;
  /** unique id per refresh attempt (default random UUIDs) */
  readonly newOwner?: () => string;
  /** sync mode of a refresh (default `quick`: one listing call per cluster) */
  readonly mode?: SyncMode;
  readonly minIntervalMs?: number;
  readonly runningTimeoutMs?: number;
  readonly pollIntervalMs?: number;
  readonly logger?: RefreshLogger;
}

/** The refresh service: the list's refresh port and its per-cluster form. */
export interface RefreshService {
  /** The port GET /api/vms calls (`force_refresh`/`live`, never-synced clusters). */
  readonly refreshClusters: RefreshClustersPort;
  /**
   * Refreshes several clusters in parallel, with each cluster's outcome; `vmidsByCluster`: the
   * guests whose addresses are re-read too (at most {@link MAX_REFRESH_VMIDS} per cluster).
   */
  refreshMany(
    clusterIds: readonly string[],
    deadlineMs: number,
    vmidsByCluster?: ReadonlyMap<string, readonly number[]>,
  ): Promise<ClusterRefresh[]>;
  /** Refreshes one cluster, or joins the refresh under way, within the deadline (epoch ms). */
  refreshCluster(clusterId: string, deadlineMs: number, vmids?: readonly number[]): Promise<ClusterRefresh>;
}

/** The API's report of one cluster's refresh: four outcomes, each with a short reason. */
export function refreshReport(refresh: ClusterRefresh): ClusterRefreshReport {
  const report = (outcome: ClusterRefreshReport['outcome'], reason: string | null): ClusterRefreshReport => ({
    cluster_id: refresh.cluster_id,
    outcome,
    reason,
  });
  const missed = refresh.details === 'missed';
  switch (refresh.outcome) {
    case 'refreshed':
      return missed
        ? report('timed_out', 'status refreshed, but not every address was read before the deadline')
        : report('refreshed', null);
    case 'joined':
      return report(
        'coalesced',
        missed
          ? "joined a refresh another request started, which did not re-read these VMs' addresses"
          : 'joined a refresh another request started',
      );
    case 'recent':
      return report(
        'coalesced',
        missed
          ? "refreshed moments ago by another request, without these VMs' addresses"
          : 'refreshed moments ago by another request',
      );
    case 'failed':
      return report('failed', 'the cluster could not be read; see /api/sync/stats');
    case 'timeout':
      return report('timed_out', 'not done before the deadline; the refresh goes on');
  }
}

const TIMED_OUT = Symbol('timed out');

/** Resolves with the promise's value, or {@link TIMED_OUT} once `ms` have passed; leaves no timer. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  if (ms <= 0) return TIMED_OUT;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How one attempt ended, and the guests whose addresses it read (none unless all it asked for were). */
interface AttemptResult {
  readonly outcome: ClusterRefreshOutcome;
  readonly vmidsRead: ReadonlySet<number>;
}

const NONE_READ: ReadonlySet<number> = new Set();

/** The guests a refresh record says were read (its `vmids`, when it ended with all of them done). */
function vmidsReadBy(record: RefreshRecord): ReadonlySet<number> {
  return record.state === 'done' && record.details_done ? new Set(record.vmids) : NONE_READ;
}

/**
 * Creates the refresh service. Per cluster, a refresh record in DynamoDB decides who syncs: the
 * first request starts a refresh (a synchronous sync-cluster invocation); requests while it runs,
 * in any Lambda instance, join it by reading the record; a request less than `minIntervalMs` after
 * the last start syncs nothing. Requests of one instance also share one in-process attempt. Past
 * the deadline the caller gets `timeout` and answers from the table, flagged stale. A request that
 * asks for some guests' addresses (a live list of a small scope) passes them to the sync (read in
 * the same pass, bounded by the deadline); it is complete only if the refresh it ran or joined
 * read all of them (the record keeps which guests a refresh read).
 */
export function createRefreshService(deps: RefreshServiceDeps): RefreshService {
  const now = deps.now ?? Date.now;
  const newOwner = deps.newOwner ?? randomUUID;
  const mode = deps.mode ?? 'quick';
  const minIntervalMs = deps.minIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const runningTimeoutMs = deps.runningTimeoutMs ?? DEFAULT_REFRESH_RUNNING_TIMEOUT_MS;
  const pollMs = deps.pollIntervalMs ?? DEFAULT_REFRESH_POLL_MS;
  const inProcess = new Map<string, Promise<AttemptResult>>();

  const result = (
    cluster_id: string,
    outcome: ClusterRefreshOutcome,
    wanted: readonly number[],
    vmidsRead: ReadonlySet<number>,
  ): ClusterRefresh => {
    const observed = outcome === 'refreshed' || outcome === 'joined' || outcome === 'recent';
    const details: DetailsRefresh =
      wanted.length === 0 ? 'none' : wanted.every((vmid) => vmidsRead.has(vmid)) ? 'read' : 'missed';
    return { cluster_id, outcome, details, complete: observed && details !== 'missed' };
  };

  /** Waits until the cluster's state was written after `since` (a sync that held the lease ended). */
  async function awaitRunningSync(clusterId: string, since: number): Promise<ClusterRefreshOutcome> {
    for (;;) {
      const state = await deps.syncState.getClusterState(clusterId);
      if (state !== null && (state.updated_at ?? 0) >= since) {
        return state.consecutive_errors === 0 ? 'refreshed' : 'failed';
      }
      // Bounded like a crashed refresh: the other sync may have died without a word.
      if (now() - since > runningTimeoutMs) return 'failed';
      await pause(pollMs);
    }
  }

  /** Runs the sync this request started, and records how it ended. */
  async function runOwned(
    clusterId: string,
    record: RefreshRecord,
    deadlineMs: number,
  ): Promise<AttemptResult> {
    let outcome: ClusterRefreshOutcome;
    let detailsDone = false;
    try {
      const summary = await deps.invoker.syncCluster({
        cluster_id: clusterId,
        mode,
        ...(record.vmids.length > 0 ? { vmids: record.vmids } : {}),
        deadline_at: Math.round(deadlineMs),
      });
      if (!summary.ok) outcome = 'failed';
      else if (summary.skipped !== undefined) outcome = await awaitRunningSync(clusterId, record.started_at);
      else outcome = 'refreshed';
      detailsDone = outcome === 'refreshed' && record.vmids.length > 0 && summary.details_refreshed === true;
    } catch (error) {
      deps.logger?.warn('refresh sync failed', {
        cluster_id: clusterId,
        error: error instanceof Error ? error.message : 'unknown',
      });
      outcome = 'failed';
    }
    await deps.store
      .finish(clusterId, record.owner, outcome === 'refreshed' ? 'done' : 'failed', now(), detailsDone)
      .catch((error: unknown) => {
        deps.logger?.warn('could not record the end of a refresh', {
          cluster_id: clusterId,
          error: error instanceof Error ? error.message : 'unknown',
        });
      });
    return { outcome, vmidsRead: detailsDone ? new Set(record.vmids) : NONE_READ };
  }

  /** Follows a refresh another request runs until it ends, is replaced, or is taken as crashed. */
  async function join(clusterId: string, joined: RefreshRecord): Promise<AttemptResult> {
    for (;;) {
      await pause(pollMs);
      const current = await deps.store.get(clusterId);
      if (current === null || current.owner !== joined.owner)
        return { outcome: 'joined', vmidsRead: NONE_READ };
      if (current.state === 'done') return { outcome: 'joined', vmidsRead: vmidsReadBy(current) };
      if (current.state === 'failed') return { outcome: 'failed', vmidsRead: NONE_READ };
      if (current.started_at < now() - runningTimeoutMs) return { outcome: 'failed', vmidsRead: NONE_READ };
    }
  }

  /** One attempt of this process for a cluster: start, join or skip (no deadline: callers race it). */
  async function attempt(
    clusterId: string,
    vmids: readonly number[],
    deadlineMs: number,
  ): Promise<AttemptResult> {
    for (let tries = 0; tries < 3; tries++) {
      const started = await deps.store.tryStart({
        clusterId,
        owner: newOwner(),
        nowMs: now(),
        minIntervalMs,
        runningTimeoutMs,
        vmids,
      });
      if (started.started) return runOwned(clusterId, started.record, deadlineMs);
      const { current } = started;
      // Vanished between the refused write and the read (cleanup): try again.
      if (current === null) continue;
      if (current.state === 'running') return join(clusterId, current);
      return current.state === 'done'
        ? { outcome: 'recent', vmidsRead: vmidsReadBy(current) }
        : { outcome: 'failed', vmidsRead: NONE_READ };
    }
    return { outcome: 'failed', vmidsRead: NONE_READ };
  }

  async function refreshCluster(
    clusterId: string,
    deadlineMs: number,
    vmids: readonly number[] = [],
  ): Promise<ClusterRefresh> {
    const wanted = [...new Set(vmids)].sort((a, b) => a - b).slice(0, MAX_REFRESH_VMIDS);
    let shared = inProcess.get(clusterId);
    if (shared === undefined) {
      const created = attempt(clusterId, wanted, deadlineMs).finally(() => inProcess.delete(clusterId));
      inProcess.set(clusterId, created);
      shared = created;
    }
    const ended = await withDeadline(shared, deadlineMs - now());
    return ended === TIMED_OUT
      ? result(clusterId, 'timeout', wanted, NONE_READ)
      : result(clusterId, ended.outcome, wanted, ended.vmidsRead);
  }

  async function refreshMany(
    clusterIds: readonly string[],
    deadlineMs: number,
    vmidsByCluster?: ReadonlyMap<string, readonly number[]>,
  ): Promise<ClusterRefresh[]> {
    return Promise.all(
      [...new Set(clusterIds)].map((id) => refreshCluster(id, deadlineMs, vmidsByCluster?.get(id) ?? [])),
    );
  }

  return {
    refreshCluster,
    refreshMany,
    refreshClusters: async (request: RefreshClustersRequest) => {
      const outcomes = await refreshMany(request.clusterIds, request.deadlineMs, request.vmidsByCluster);
      return {
        complete: outcomes.every((outcome) => outcome.complete),
        clusters: outcomes.map(refreshReport),
      };
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { RefreshClustersPort, RefreshClustersRequest } from '#shared/api/refresh-port.ts';
import type { ClusterRefreshReport } from '#shared/http/schemas/vms.ts';
import type { SyncStateRepository } from '#shared/store/ports.ts';
import type { SyncMode } from '#shared/sync/contract.ts';
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

/** The outcome of one cluster's refresh. */
export interface ClusterRefresh {
  readonly cluster_id: string;
  readonly outcome: ClusterRefreshOutcome;
  /** true when the table now holds a successful observation made for (or during) this request */
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
  /** Refreshes several clusters in parallel, with each cluster's outcome. */
  refreshMany(clusterIds: readonly string[], deadlineMs: number): Promise<ClusterRefresh[]>;
  /** Refreshes one cluster, or joins the refresh under way, within the deadline (epoch ms). */
  refreshCluster(clusterId: string, deadlineMs: number): Promise<ClusterRefresh>;
}

/** The API's report of one cluster's refresh: four outcomes, each with a short reason. */
export function refreshReport(refresh: ClusterRefresh): ClusterRefreshReport {
  const report = (outcome: ClusterRefreshReport['outcome'], reason: string | null): ClusterRefreshReport => ({
    cluster_id: refresh.cluster_id,
    outcome,
    reason,
  });
  switch (refresh.outcome) {
    case 'refreshed':
      return report('refreshed', null);
    case 'joined':
      return report('coalesced', 'joined a refresh another request started');
    case 'recent':
      return report('coalesced', 'refreshed moments ago by another request');
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

/**
 * Creates the refresh service. Per cluster, a refresh record in DynamoDB decides who syncs: the
 * first request starts a refresh (a synchronous sync-cluster invocation); requests while it runs,
 * in any Lambda instance, join it by reading the record; a request less than `minIntervalMs` after
 * the last start syncs nothing. Requests of one instance also share one in-process attempt. Past
 * the deadline the caller gets `timeout` and answers from the table, flagged stale.
 */
export function createRefreshService(deps: RefreshServiceDeps): RefreshService {
  const now = deps.now ?? Date.now;
  const newOwner = deps.newOwner ?? randomUUID;
  const mode = deps.mode ?? 'quick';
  const minIntervalMs = deps.minIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const runningTimeoutMs = deps.runningTimeoutMs ?? DEFAULT_REFRESH_RUNNING_TIMEOUT_MS;
  const pollMs = deps.pollIntervalMs ?? DEFAULT_REFRESH_POLL_MS;
  const inProcess = new Map<string, Promise<ClusterRefresh>>();

  const result = (cluster_id: string, outcome: ClusterRefreshOutcome): ClusterRefresh => ({
    cluster_id,
    outcome,
    complete: outcome === 'refreshed' || outcome === 'joined' || outcome === 'recent',
  });

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
  async function runOwned(clusterId: string, record: RefreshRecord): Promise<ClusterRefreshOutcome> {
    let outcome: ClusterRefreshOutcome;
    try {
      const summary = await deps.invoker.syncCluster({ cluster_id: clusterId, mode });
      if (!summary.ok) outcome = 'failed';
      else if (summary.skipped !== undefined) outcome = await awaitRunningSync(clusterId, record.started_at);
      else outcome = 'refreshed';
    } catch (error) {
      deps.logger?.warn('refresh sync failed', {
        cluster_id: clusterId,
        error: error instanceof Error ? error.message : 'unknown',
      });
      outcome = 'failed';
    }
    await deps.store
      .finish(clusterId, record.owner, outcome === 'refreshed' ? 'done' : 'failed', now())
      .catch((error: unknown) => {
        deps.logger?.warn('could not record the end of a refresh', {
          cluster_id: clusterId,
          error: error instanceof Error ? error.message : 'unknown',
        });
      });
    return outcome;
  }

  /** Follows a refresh another request runs until it ends, is replaced, or is taken as crashed. */
  async function join(clusterId: string, joined: RefreshRecord): Promise<ClusterRefreshOutcome> {
    for (;;) {
      await pause(pollMs);
      const current = await deps.store.get(clusterId);
      if (current === null || current.owner !== joined.owner) return 'joined';
      if (current.state === 'done') return 'joined';
      if (current.state === 'failed') return 'failed';
      if (current.started_at < now() - runningTimeoutMs) return 'failed';
    }
  }

  /** One attempt of this process for a cluster: start, join or skip (no deadline: callers race it). */
  async function attempt(clusterId: string): Promise<ClusterRefreshOutcome> {
    for (let tries = 0; tries < 3; tries++) {
      const started = await deps.store.tryStart({
        clusterId,
        owner: newOwner(),
        nowMs: now(),
        minIntervalMs,
        runningTimeoutMs,
      });
      if (started.started) return runOwned(clusterId, started.record);
      const { current } = started;
      // Vanished between the refused write and the read (cleanup): try again.
      if (current === null) continue;
      if (current.state === 'running') return join(clusterId, current);
      return current.state === 'done' ? 'recent' : 'failed';
    }
    return 'failed';
  }

  async function refreshCluster(clusterId: string, deadlineMs: number): Promise<ClusterRefresh> {
    let shared = inProcess.get(clusterId);
    if (shared === undefined) {
      const created = attempt(clusterId)
        .then((outcome) => result(clusterId, outcome))
        .finally(() => inProcess.delete(clusterId));
      inProcess.set(clusterId, created);
      shared = created;
    }
    const outcome = await withDeadline(shared, deadlineMs - now());
    return outcome === TIMED_OUT ? result(clusterId, 'timeout') : outcome;
  }

  async function refreshMany(clusterIds: readonly string[], deadlineMs: number): Promise<ClusterRefresh[]> {
    return Promise.all([...new Set(clusterIds)].map((id) => refreshCluster(id, deadlineMs)));
  }

  return {
    refreshCluster,
    refreshMany,
    refreshClusters: async (request: RefreshClustersRequest) => {
      const outcomes = await refreshMany(request.clusterIds, request.deadlineMs);
      return {
        complete: outcomes.every((outcome) => outcome.complete),
        clusters: outcomes.map(refreshReport),
      };
    },
  };
}

import { BadRequestError } from '#shared/http/errors.ts';
import type { TriggerClusterOutcome, TriggerSyncResponse } from '#shared/http/schemas/sync.ts';
import type { SyncStateRepository } from '#shared/store/ports.ts';
import type { ListClustersInput, SyncMode } from '#shared/sync/contract.ts';
import type { ExecutionStarter } from './execution-starter.ts';
import type { TriggerRecord, TriggerStore } from './trigger-store.ts';

/** The trigger record kept changing under this request (heavy contention): try again. */
export class TriggerContentionError extends Error {
  override readonly name = 'TriggerContentionError';
}

/** Triggers of the same mode and cluster within this window share one execution. */
export const DEFAULT_TRIGGER_WINDOW_MS = 60_000;

/** A manual sync request: a full sync of every cluster unless told otherwise. */
export interface TriggerRequest {
  readonly mode: SyncMode;
  readonly cluster_id?: string | undefined;
}

/** Dependencies of {@link createTriggerService}. */
export interface TriggerServiceDeps {
  readonly store: TriggerStore;
  readonly starter: ExecutionStarter;
  /** epoch ms (default Date.now) */
  readonly now?: () => number;
  readonly windowMs?: number;
  /** The configured clusters: a `cluster_id` outside them is refused (400). */
  readonly clusterIds?: readonly string[];
  /** To tell, per cluster, whether a sync already holds it (its lease) and whether it backs off. */
  readonly syncState?: Pick<SyncStateRepository, 'getLease' | 'listClusterStates'>;
}

/** The trigger service: starts a sync execution, or returns the one a recent trigger started. */
export interface TriggerService {
  trigger(request: TriggerRequest): Promise<TriggerSyncResponse>;
}

/** `20261125T215600` for an epoch ms (UTC, seconds): readable in the console, valid in a name. */
function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, '');
}

/**
 * The deterministic execution name of a manual trigger: mode, cluster scope and the start of the
 * time window it falls in (≤ 80 characters of `[A-Za-z0-9-]`, as Step Functions requires). Two
 * triggers in one window name the same execution, so even Step Functions refuses a second one.
 */
export function triggerExecutionName(
  mode: SyncMode,
  clusterId: string | null,
  nowMs: number,
  windowMs: number,
): string {
  const windowStart = Math.floor(nowMs / windowMs) * windowMs;
  return `manual-${mode}-${clusterId ?? 'all'}-${compactTime(windowStart)}`;
}

const answer = (
  record: TriggerRecord,
  started: boolean,
  clusters: TriggerClusterOutcome[],
): TriggerSyncResponse => ({
  execution_name: record.execution_name,
  execution_arn: record.execution_arn,
  mode: record.mode,
  cluster_id: record.cluster_id,
  started,
  clusters,
});

/** What the sync of a cluster holds when the trigger asks: a run under way, a backoff. */
export interface ClusterSyncSituation {
  readonly cluster_id: string;
  /** a run of this mode (or, for a quick sync, a full run) holds the cluster's lease */
  readonly runningKind: 'full' | 'quick' | null;
  readonly backoffUntil: number | null;
  readonly consecutiveErrors: number;
}

/**
 * What a manual sync does to each cluster in scope. Pure. A new execution syncs every cluster now,
 * through any backoff (full or quick), unless a run already holds it (it joins that one); a quick pass skips a
 * cluster whose full sync is under way (it writes the same data). A reused execution (trigger
 * window) syncs them as that execution does.
 */
export function triggerOutcomes(
  mode: SyncMode,
  startedNow: boolean,
  situations: readonly ClusterSyncSituation[],
  nowMs: number,
): TriggerClusterOutcome[] {
  return situations.map((s): TriggerClusterOutcome => {
    if (!startedNow) {
      return {
        cluster_id: s.cluster_id,
        outcome: 'coalesced',
        reason: 'joined the sync a recent trigger started',
      };
    }
    if (mode === 'quick' && s.runningKind === 'full') {
      return {
        cluster_id: s.cluster_id,
        outcome: 'skipped',
        reason: 'a full sync of this cluster is running',
      };
    }
    if (s.runningKind === mode) {
      return {
        cluster_id: s.cluster_id,
        outcome: 'coalesced',
        reason: `a ${mode} sync of this cluster is running`,
      };
    }
    // Either mode is an explicit retry: it runs through the backoff (its first pass, for a quick sync).
    const backingOff = s.backoffUntil !== null && s.backoffUntil > nowMs;
    return {
      cluster_id: s.cluster_id,
      outcome: 'started',
      reason: backingOff
        ? `retrying now despite backoff after ${s.consecutiveErrors} consecutive errors (a success resets it)`
        : null,
    };
  });
}

/**
 * Creates the trigger service. A trigger returns the execution of the previous trigger of the same
 * mode and cluster scope while it is younger than the window or still running; otherwise it claims
 * the record (conditional put replacing only what it read) and starts a new execution under the
 * deterministic name. A lost claim returns the winner's execution.
 */
export function createTriggerService(deps: TriggerServiceDeps): TriggerService {
  const now = deps.now ?? Date.now;
  const windowMs = deps.windowMs ?? DEFAULT_TRIGGER_WINDOW_MS;

  /** The clusters in scope with what their syncs hold now (nothing known without a sync state port). */
  async function situations(clusterId: string | null, mode: SyncMode): Promise<ClusterSyncSituation[]> {
    const ids = clusterId !== null ? [clusterId] : [...(deps.clusterIds ?? [])];
    if (deps.syncState === undefined) {
      return ids.map((id) => ({
        cluster_id: id,
        runningKind: null,
        backoffUntil: null,
        consecutiveErrors: 0,
      }));
    }
    const syncState = deps.syncState;
    const nowMs = now();
    const states = new Map((await syncState.listClusterStates()).map((state) => [state.cluster_id, state]));
    return Promise.all(
      ids.map(async (id): Promise<ClusterSyncSituation> => {
        const held = async (kind: SyncMode) => {
          const lease = await syncState.getLease(id, kind);
          return lease !== null && lease.lease_expires_at > nowMs;
        };
        const runningKind = (await held('full'))
          ? 'full'
          : mode === 'quick' && (await held('quick'))
            ? 'quick'
            : null;
        const state = states.get(id);
        return {
          cluster_id: id,
          runningKind,
          backoffUntil: state?.backoff_until ?? null,
          consecutiveErrors: state?.consecutive_errors ?? 0,
        };
      }),
    );
  }

  async function stillCurrent(record: TriggerRecord, nowMs: number): Promise<boolean> {
    if (nowMs - record.started_at < windowMs) return true;
    if (record.execution_arn === null) return false;
    return (await deps.starter.isRunning(record.mode, record.execution_arn)) === true;
  }

  return {
    async trigger(request) {
      const mode = request.mode;
      const clusterId = request.cluster_id ?? null;
      if (clusterId !== null && deps.clusterIds !== undefined && !deps.clusterIds.includes(clusterId)) {
        throw new BadRequestError(`body.cluster_id: no cluster "${clusterId}" is configured`, [
          {
            field: 'body.cluster_id',
            message: `unknown cluster; configured: ${deps.clusterIds.join(', ') || 'none'}`,
          },
        ]);
      }
      const scope = await situations(clusterId, mode);
      for (let attempt = 0; attempt < 3; attempt++) {
        const nowMs = now();
        const current = await deps.store.get(mode, clusterId);
        if (current !== null && (await stillCurrent(current, nowMs)))
          return answer(current, false, triggerOutcomes(mode, false, scope, nowMs));

        const record: TriggerRecord = {
          mode,
          cluster_id: clusterId,
          execution_name: triggerExecutionName(mode, clusterId, nowMs, windowMs),
          execution_arn: null,
          started_at: nowMs,
        };
        // The previous window's execution may still hold this name's window: never reuse a name.
        if (current !== null && current.execution_name === record.execution_name)
          return answer(current, false, triggerOutcomes(mode, false, scope, nowMs));
        const claim = await deps.store.claim(record, current?.execution_name ?? null);
        if (!claim.claimed) {
          if (claim.current !== null)
            return answer(claim.current, false, triggerOutcomes(mode, false, scope, nowMs));
          continue;
        }
        // A manual sync is an explicit retry: it runs even while a cluster backs off.
        const input: ListClustersInput =
          clusterId === null ? { mode, manual: true } : { mode, cluster_id: clusterId, manual: true };
        let started: { executionArn: string; started: boolean };
        try {
          started = await deps.starter.start(mode, record.execution_name, input);
        } catch (error) {
          await deps.store.release(mode, clusterId, record.execution_name);
          throw error;
        }
        await deps.store.setArn(mode, clusterId, record.execution_name, started.executionArn);
        return answer(
          { ...record, execution_arn: started.executionArn },
          started.started,
          triggerOutcomes(mode, started.started, scope, nowMs),
        );
      }
      throw new TriggerContentionError('the trigger record kept changing; try again');
    },
  };
}

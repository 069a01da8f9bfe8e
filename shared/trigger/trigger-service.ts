import type { TriggerSyncResponse } from '#shared/http/schemas/sync.ts';
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

const answer = (record: TriggerRecord, started: boolean): TriggerSyncResponse => ({
  execution_name: record.execution_name,
  execution_arn: record.execution_arn,
  mode: record.mode,
  cluster_id: record.cluster_id,
  started,
});

/**
 * Creates the trigger service. A trigger returns the execution of the previous trigger of the same
 * mode and cluster scope while it is younger than the window or still running; otherwise it claims
 * the record (conditional put replacing only what it read) and starts a new execution under the
 * deterministic name. A lost claim returns the winner's execution.
 */
export function createTriggerService(deps: TriggerServiceDeps): TriggerService {
  const now = deps.now ?? Date.now;
  const windowMs = deps.windowMs ?? DEFAULT_TRIGGER_WINDOW_MS;

  async function stillCurrent(record: TriggerRecord, nowMs: number): Promise<boolean> {
    if (nowMs - record.started_at < windowMs) return true;
    if (record.execution_arn === null) return false;
    return (await deps.starter.isRunning(record.mode, record.execution_arn)) === true;
  }

  return {
    async trigger(request) {
      const mode = request.mode;
      const clusterId = request.cluster_id ?? null;
      for (let attempt = 0; attempt < 3; attempt++) {
        const nowMs = now();
        const current = await deps.store.get(mode, clusterId);
        if (current !== null && (await stillCurrent(current, nowMs))) return answer(current, false);

        const record: TriggerRecord = {
          mode,
          cluster_id: clusterId,
          execution_name: triggerExecutionName(mode, clusterId, nowMs, windowMs),
          execution_arn: null,
          started_at: nowMs,
        };
        // The previous window's execution may still hold this name's window: never reuse a name.
        if (current !== null && current.execution_name === record.execution_name)
          return answer(current, false);
        const claim = await deps.store.claim(record, current?.execution_name ?? null);
        if (!claim.claimed) {
          if (claim.current !== null) return answer(claim.current, false);
          continue;
        }
        const input: ListClustersInput = clusterId === null ? { mode } : { mode, cluster_id: clusterId };
        let started: { executionArn: string; started: boolean };
        try {
          started = await deps.starter.start(mode, record.execution_name, input);
        } catch (error) {
          await deps.store.release(mode, clusterId, record.execution_name);
          throw error;
        }
        await deps.store.setArn(mode, clusterId, record.execution_name, started.executionArn);
        return answer({ ...record, execution_arn: started.executionArn }, started.started);
      }
      throw new TriggerContentionError('the trigger record kept changing; try again');
    },
  };
}

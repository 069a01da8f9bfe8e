/**
 * The time budget of one sync run. A deployed run ends when its Lambda does: the run stops taking
 * new per-guest work a margin before that deadline, gives what is in flight a little longer, then
 * writes what it has and the cluster state, so the next run continues where it stopped. Pure: the
 * caller passes the clock's readings.
 */

/** Lower and upper bound of the margin kept before the deadline when no new guest work starts. */
export const MIN_STOP_MARGIN_MS = 5_000;
export const MAX_STOP_MARGIN_MS = 20_000;

/** The phases of a run's budget, as epoch ms (all `null` when the run has no deadline). */
export interface RunBudget {
  /** the hard end of the run (the Lambda's end) */
  deadlineAt: number | null;
  /** no new guest work starts after this */
  stopStartingAt: number | null;
  /** work still in flight is abandoned (not written) after this */
  abandonAt: number | null;
}

/**
 * Splits the time between `startedAt` and `deadlineAt`: the stop margin is a tenth of the run's
 * budget within [{@link MIN_STOP_MARGIN_MS}, {@link MAX_STOP_MARGIN_MS}] (never more than half
 * the budget), and work in flight may use the first half of that margin.
 */
export function runBudget(startedAt: number, deadlineAt: number | undefined | null): RunBudget {
  if (deadlineAt === undefined || deadlineAt === null) {
    return { deadlineAt: null, stopStartingAt: null, abandonAt: null };
  }
  const total = Math.max(0, deadlineAt - startedAt);
  const margin = Math.min(
    total / 2,
    Math.max(MIN_STOP_MARGIN_MS, Math.min(MAX_STOP_MARGIN_MS, Math.round(total / 10))),
  );
  return {
    deadlineAt,
    stopStartingAt: deadlineAt - margin,
    abandonAt: deadlineAt - Math.round(margin / 2),
  };
}

/** True while new work may start. */
export function mayStart(budget: RunBudget, nowMs: number): boolean {
  return budget.stopStartingAt === null || nowMs < budget.stopStartingAt;
}

/**
 * Lease lifetime of a run: its usual lifetime, but never past the run's deadline, so a run killed
 * at its deadline frees the cluster for the next run at once.
 */
export function leaseTtlWithin(defaultTtlMs: number, startedAt: number, deadlineAt: number | null): number {
  if (deadlineAt === null) return defaultTtlMs;
  return Math.max(1, Math.min(defaultTtlMs, deadlineAt - startedAt));
}

/** The cluster's last error after a run that ran out of time. */
export function timedOutMessage(elapsedMs: number, done: number, total: number | null): string {
  const seconds = Math.max(0, Math.round(elapsedMs / 1000));
  return total === null
    ? `timed out after ${seconds} s`
    : `timed out after ${seconds} s, ${done} of ${total} guests done`;
}

/** True for a Step Functions error record of a task that ran out of time (Lambda or task timeout). */
export function isTimeoutFailure(error: string): boolean {
  return /Sandbox\.Timedout|States\.Timeout|Task timed out|timed out after/i.test(error);
}

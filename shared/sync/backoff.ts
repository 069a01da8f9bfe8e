/**
 * Per-cluster exponential backoff after failed syncs. Pure: the engine passes the clock.
 */

/** Backoff tuning: the first failure waits `baseMs`, each further one doubles it, up to `capMs`. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/**
 * Default policy: 20 s after the first failure (skips one or two quick passes), doubling to at
 * most 5 minutes, so a down cluster costs at most one attempt per full-sync period.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 20_000, capMs: 300_000 };

/** Delay before the next attempt after `consecutiveErrors` failures in a row (0 → no delay). */
export function backoffDelayMs(consecutiveErrors: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (consecutiveErrors <= 0) return 0;
  // Cap the exponent so that the power never overflows to Infinity.
  const exponent = Math.min(consecutiveErrors - 1, 30);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/** True while a cluster's backoff lasts. */
export function isBackingOff(backoffUntil: number | null | undefined, nowMs: number): boolean {
  return backoffUntil !== null && backoffUntil !== undefined && nowMs < backoffUntil;
}

/**
 * Percentiles and summaries of latency samples. Pure: the benchmark reports percentiles and ratios,
 * never a lone time, because this machine is shared and noisy.
 */

/** Summary of a set of samples (milliseconds unless said otherwise). */
export interface SampleSummary {
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Thrown when a percentile of no samples, or an out-of-range percentile, is asked for. */
export class EmptySampleError extends Error {
  override readonly name = 'EmptySampleError';
}

/**
 * Nearest-rank percentile of samples sorted ascending: the smallest sample such that at least `p`
 * percent of the samples are less than or equal to it (rank ⌈p/100 · n⌉, at least 1). Nearest rank
 * never invents a value that was not measured, which matters for small n.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new EmptySampleError('no samples');
  if (!(p >= 0 && p <= 100)) throw new EmptySampleError(`percentile ${p} is outside 0..100`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  const value = sorted[rank - 1];
  if (value === undefined) throw new EmptySampleError('rank outside the samples');
  return value;
}

/** Nearest-rank percentile of unsorted samples (see {@link percentileOfSorted}). */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(
    [...samples].sort((a, b) => a - b),
    p,
  );
}

/** n, min, max, mean and the 50th/95th/99th nearest-rank percentiles of the samples. */
export function summarize(samples: readonly number[]): SampleSummary {
  if (samples.length === 0) throw new EmptySampleError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    mean: sum / sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
  };
}

/** `numerator / denominator`, or null when the denominator is 0 (no ratio to claim). */
export function ratio(numerator: number, denominator: number): number | null {
  if (denominator === 0) return null;
  return numerator / denominator;
}

/** Rounds to `digits` decimals (for reports; keeps integers as they are). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

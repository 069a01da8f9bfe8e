import { performance } from 'node:perf_hooks';

/** Result of a closed-loop load run. */
export interface LoadResult {
  /** Latency of every successful request, ms. */
  latenciesMs: number[];
  errors: number;
  /** First error messages (at most 5), for the report. */
  errorSamples: string[];
  wallMs: number;
}

/**
 * Runs `total` requests with `concurrency` workers, each starting its next request when the last
 * one ended (closed loop), and times each. Bounded: stops after `total` requests.
 */
export async function runClosedLoop(
  total: number,
  concurrency: number,
  request: (index: number) => Promise<void>,
): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      if (index >= total) return;
      next += 1;
      const t0 = performance.now();
      try {
        await request(index);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        if (errorSamples.length < 5)
          errorSamples.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, () => worker()));
  return { latenciesMs, errors, errorSamples, wallMs: performance.now() - started };
}

/** Samples the process's memory every `intervalMs` until stopped; returns the peaks. */
export function startMemorySampler(
  intervalMs = 20,
): () => { peakRssBytes: number; peakHeapUsedBytes: number } {
  let peakRss = 0;
  let peakHeap = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => {
    clearInterval(timer);
    sample();
    return { peakRssBytes: peakRss, peakHeapUsedBytes: peakHeap };
  };
}

/**
 * Bounded concurrency for work over many items (DynamoDB reads and writes of a large import, batch
 * operations): at most `limit` calls of `fn` are in flight, and the workers hand the event loop
 * back every `yieldEvery` items, so a long run never holds other requests of the same process.
 */

/** Options of {@link mapWithConcurrency}. */
export interface ConcurrencyOptions {
  /** Each worker yields to the event loop after this many items. @default 16 */
  readonly yieldEvery?: number;
}

/** Lets timers and I/O callbacks that are due run before continuing. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the items' order.
 * The first rejection rejects the whole map (the workers stop taking new items).
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: ConcurrencyOptions = {},
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency limit must be ≥ 1, not ${limit}`);
  const yieldEvery = Math.max(1, options.yieldEvery ?? 16);
  const results = new Array<R>(items.length);
  // One iterator shared by the workers: each item is taken exactly once.
  const entries = items.entries();
  let failed = false;
  async function worker(): Promise<void> {
    let sinceYield = 0;
    for (const [index, item] of entries) {
      if (failed) return;
      try {
        results[index] = await fn(item, index);
      } catch (error) {
        failed = true;
        throw error;
      }
      sinceYield += 1;
      if (sinceYield >= yieldEvery) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

/** Splits `items` into arrays of at most `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

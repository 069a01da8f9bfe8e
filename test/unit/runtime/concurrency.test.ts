import { describe, expect, it } from 'vitest';
import { chunked, mapWithConcurrency } from '#shared/runtime/concurrency.ts';

describe('mapWithConcurrency', () => {
  it('never runs more than the limit at once and keeps the order of the results', async () => {
    let now = 0;
    let max = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const results = await mapWithConcurrency(items, 3, async (item) => {
      now += 1;
      max = Math.max(max, now);
      await new Promise((resolve) => setTimeout(resolve, item % 3));
      now -= 1;
      return item * 2;
    });
    expect(max).toBe(3);
    expect(results).toEqual(items.map((i) => i * 2));
  });

  it('hands the event loop back while working through synchronous items', async () => {
    let timerRan = false;
    let itemsBeforeTimer = -1;
    let done = 0;
    setTimeout(() => {
      timerRan = true;
      itemsBeforeTimer = done;
    }, 0);
    await mapWithConcurrency(
      Array.from({ length: 2_000 }, (_, i) => i),
      2,
      async () => {
        // Resolved at once: without a yield, no timer could run until the whole map is done.
        done += 1;
      },
      { yieldEvery: 10 },
    );
    expect(timerRan).toBe(true);
    expect(itemsBeforeTimer).toBeLessThan(2_000);
  });

  it('rejects with the first error and stops taking new items', async () => {
    const seen: number[] = [];
    await expect(
      mapWithConcurrency([1, 2, 3, 4, 5, 6], 1, async (item) => {
        seen.push(item);
        if (item === 2) throw new Error('boom');
        return item;
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1, 2]);
  });

  it('refuses a limit below one', async () => {
    await expect(mapWithConcurrency([1], 0, async (i) => i)).rejects.toThrow(RangeError);
  });

  it('splits into chunks of at most the size', () => {
    expect(chunked([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunked([], 3)).toEqual([]);
  });
});

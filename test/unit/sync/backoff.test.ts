import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF, isBackingOff } from '#shared/sync/backoff.ts';

describe('backoffDelayMs', () => {
  it('doubles from the base after each failure, up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelayMs(n))).toEqual([
      0, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('never exceeds the cap and never decreases with more failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const delay = backoffDelayMs(n);
        expect(delay).toBeLessThanOrEqual(DEFAULT_BACKOFF.capMs);
        expect(backoffDelayMs(n + 1)).toBeGreaterThanOrEqual(delay);
      }),
    );
  });
});

describe('isBackingOff', () => {
  it('holds strictly before the backoff end only', () => {
    expect(isBackingOff(null, 5)).toBe(false);
    expect(isBackingOff(undefined, 5)).toBe(false);
    expect(isBackingOff(10, 9)).toBe(true);
    expect(isBackingOff(10, 10)).toBe(false);
  });
});

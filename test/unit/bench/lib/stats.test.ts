import { describe, expect, it } from 'vitest';
import {
  EmptySampleError,
  percentile,
  percentileOfSorted,
  ratio,
  summarize,
} from '../../../../bench/lib/stats.ts';

describe('percentile (nearest rank)', () => {
  it('returns a measured sample, never an interpolated value', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(percentile(samples, 50)).toBe(3);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile(samples, 100)).toBe(5);
  });

  it('uses rank ceil(p/100 * n): p99 of 100 samples is the 99th smallest', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 50)).toBe(50);
  });

  it('gives the maximum as p99 when there are fewer than 100 samples', () => {
    const samples = Array.from({ length: 30 }, (_, i) => i * 10);
    expect(percentile(samples, 99)).toBe(290);
  });

  it('refuses empty samples and percentiles outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(EmptySampleError);
    expect(() => percentileOfSorted([1], 101)).toThrow(EmptySampleError);
    expect(() => percentileOfSorted([1], Number.NaN)).toThrow(EmptySampleError);
  });

  it('does not reorder the caller’s array', () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('reports n, min, max, mean and the three percentiles', () => {
    const s = summarize([10, 20, 30, 40]);
    expect(s).toEqual({ n: 4, min: 10, max: 40, mean: 25, p50: 20, p95: 40, p99: 40 });
  });

  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow(EmptySampleError);
  });
});

describe('ratio', () => {
  it('divides, and gives null rather than Infinity for a zero denominator', () => {
    expect(ratio(300, 3)).toBe(100);
    expect(ratio(1, 0)).toBeNull();
  });
});

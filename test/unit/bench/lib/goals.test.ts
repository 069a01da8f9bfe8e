import { describe, expect, it } from 'vitest';
import { describeOutcome, formatNumber, judge } from '../../../../bench/lib/goals.ts';

describe('judge', () => {
  it('meets a maximum at or below the target and says by how much it is missed above', () => {
    expect(judge('a', 'p99 < 50 ms', 50, 50, 'ms', 'max').met).toBe(true);
    const missed = judge('a', 'p99 < 50 ms', 75, 50, 'ms', 'max');
    expect(missed.met).toBe(false);
    expect(missed.factor).toBe(1.5);
    expect(describeOutcome(missed)).toBe('missed: 1.50× the maximum (75.0 vs ≤ 50.0 ms)');
  });

  it('meets a minimum at or above the target', () => {
    expect(judge('s', '100× faster', 120, 100, '×', 'min').met).toBe(true);
    const missed = judge('s', '100× faster', 25, 100, '×', 'min');
    expect(missed.met).toBe(false);
    expect(describeOutcome(missed)).toBe('missed: 25% of the minimum (25.0 vs ≥ 100 ×)');
  });

  it('reports a figure that was not measured as such, not as met', () => {
    const o = judge('x', 'full < 60 s', null, 60, 's', 'max');
    expect(o.met).toBeNull();
    expect(describeOutcome(o)).toBe('not measured in this run');
  });
});

describe('formatNumber', () => {
  it('keeps three significant figures below 100 and groups thousands', () => {
    expect(formatNumber(1234.6)).toBe('1,235');
    expect(formatNumber(42.345)).toBe('42.3');
    expect(formatNumber(4.567)).toBe('4.57');
    expect(formatNumber(0.01234)).toBe('0.012');
    expect(formatNumber(0)).toBe('0');
  });
});

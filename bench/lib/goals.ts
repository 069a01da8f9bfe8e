/**
 * The goals of issue 7 and how a run's figures compare with them: met or missed, and by how much.
 * Pure.
 */

/** One goal's outcome. */
export interface GoalOutcome {
  id: string;
  goal: string;
  /** the measured value (null: not measured in this run) */
  value: number | null;
  target: number;
  unit: string;
  /** 'max': value must be ≤ target; 'min': value must be ≥ target */
  direction: 'max' | 'min';
  met: boolean | null;
  /** how far from the target, as a factor of the target (1.4 = 40% over a maximum, 0.5 = half a minimum) */
  factor: number | null;
  /** the baseline's figure in the same run, as text (null when the goal has none) */
  baseline: string | null;
}

/** Compares one figure with its target. */
export function judge(
  id: string,
  goal: string,
  value: number | null,
  target: number,
  unit: string,
  direction: 'max' | 'min',
  baseline: string | null = null,
): GoalOutcome {
  if (value === null || !Number.isFinite(value)) {
    return { id, goal, value: null, target, unit, direction, met: null, factor: null, baseline };
  }
  const met = direction === 'max' ? value <= target : value >= target;
  const factor = target === 0 ? null : value / target;
  return { id, goal, value, target, unit, direction, met, factor, baseline };
}

/** "met", "missed: 1.4× the maximum", "not measured". */
export function describeOutcome(o: GoalOutcome): string {
  if (o.met === null) return 'not measured in this run';
  if (o.met) return 'met';
  if (o.factor === null) return 'missed';
  if (o.direction === 'max')
    return `missed: ${o.factor.toFixed(2)}× the maximum (${formatNumber(o.value ?? 0)} vs ≤ ${formatNumber(o.target)} ${o.unit})`;
  return `missed: ${(o.factor * 100).toFixed(0)}% of the minimum (${formatNumber(o.value ?? 0)} vs ≥ ${formatNumber(o.target)} ${o.unit})`;
}

/** Compact number for reports: 3 significant digits below 100, integers above. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(2);
}

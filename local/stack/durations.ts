/** A duration option that cannot be read. */
export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
}

/**
 * Parses a duration option: `90` or `90s` (seconds), `5m` (minutes), `500ms`. Returns
 * milliseconds; throws {@link InvalidDurationError} naming the option.
 */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null || match[1] === undefined) {
    throw new InvalidDurationError(`${option}: "${value}" is not a duration (e.g. 30, 30s, 5m, 500ms)`);
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
  if (!(ms >= 100)) throw new InvalidDurationError(`${option}: "${value}" is shorter than 100 ms`);
  return Math.round(ms);
}

/** `300000` → `5 min`, `30000` → `30 s`, `500` → `500 ms`. */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * A small five-field cron evaluator (minute hour day-of-month month day-of-week) in an IANA time
 * zone, enough for class schedules ("0 8 * * 1-5", "30 22 * * *"). Fields take `*`, numbers,
 * ranges `a-b`, steps `*\/n` and `a-b/n`, lists `a,b`, three-letter month and day names; day of
 * week 0–7 (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted a day
 * matching either fires. Local times are read with `Intl.DateTimeFormat`: a time skipped by a
 * daylight-saving jump does not fire, one repeated fires in both occurrences.
 */

/** A cron expression or time zone that cannot be used; the message names what is wrong. */
export class CronSyntaxError extends Error {
  override readonly name = 'CronSyntaxError';
}

/** A parsed expression. */
export interface Cron {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** offset of names[0] */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS, nameBase: 0 },
];

function parseValue(text: string, spec: FieldSpec): number {
  const lower = text.toLowerCase();
  const named = spec.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + (spec.nameBase ?? 0);
  if (!/^\d{1,2}$/.test(text)) throw new CronSyntaxError(`${spec.name}: "${text}" is not a number`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new CronSyntaxError(`${spec.name}: ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

function parseField(text: string, spec: FieldSpec): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  let restricted = true;
  for (const part of text.split(',')) {
    const [range = '', stepText, extra] = part.split('/');
    if (extra !== undefined || range === '')
      throw new CronSyntaxError(`${spec.name}: "${part}" is malformed`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,2}$/.test(stepText) || Number(stepText) === 0) {
        throw new CronSyntaxError(`${spec.name}: step "${stepText}" must be a whole number from 1`);
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max === 7 ? 6 : spec.max;
      if (stepText === undefined && text === '*') restricted = false;
    } else if (range.includes('-')) {
      const [a = '', b = '', more] = range.split('-');
      if (more !== undefined) throw new CronSyntaxError(`${spec.name}: "${range}" is malformed`);
      from = parseValue(a, spec);
      to = parseValue(b, spec);
      if (from > to) throw new CronSyntaxError(`${spec.name}: range "${range}" runs backwards`);
    } else {
      from = parseValue(range, spec);
      to = stepText === undefined ? from : spec.max;
    }
    for (let value = from; value <= to; value += step) values.add(spec.max === 7 && value === 7 ? 0 : value);
  }
  return { values, restricted };
}

/** Parses a five-field expression; {@link CronSyntaxError} names the bad field. */
export function parseCron(expression: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new CronSyntaxError(
      `"${expression}" needs 5 fields (minute hour day month weekday), got ${fields.length}`,
    );
  }
  const parsed = fields.map((field, i) => parseField(field, FIELDS[i] as FieldSpec));
  const [minutes, hours, days, months, weekdays] = parsed as [
    (typeof parsed)[0],
    (typeof parsed)[0],
    (typeof parsed)[0],
    (typeof parsed)[0],
    (typeof parsed)[0],
  ];
  return {
    source: expression.trim(),
    minutes: minutes.values,
    hours: hours.values,
    days: days.values,
    months: months.values,
    weekdays: weekdays.values,
    daysRestricted: days.restricted,
    weekdaysRestricted: weekdays.restricted,
  };
}

/** Local wall-clock fields of an instant in a time zone. */
export interface LocalTime {
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
  readonly month: number;
  /** 0 = Sunday */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        minute: 'numeric',
        hour: 'numeric',
        day: 'numeric',
        month: 'numeric',
        weekday: 'short',
      });
    } catch {
      throw new CronSyntaxError(`time zone "${timeZone}" is not a known IANA time zone`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws {@link CronSyntaxError} unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** The local time of `epochMs` in `timeZone`. */
export function localTime(epochMs: number, timeZone: string): LocalTime {
  const parts = formatterFor(timeZone).formatToParts(new Date(epochMs));
  const get = (type: string): string => parts.find((part) => part.type === type)?.value ?? '';
  return {
    minute: Number(get('minute')),
    hour: Number(get('hour')),
    day: Number(get('day')),
    month: Number(get('month')),
    weekday: WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3)),
  };
}

/** True when the expression fires at this local minute. */
export function cronMatches(cron: Cron, time: LocalTime): boolean {
  if (!cron.minutes.has(time.minute) || !cron.hours.has(time.hour) || !cron.months.has(time.month))
    return false;
  const dayOk = cron.days.has(time.day);
  const weekdayOk = cron.weekdays.has(time.weekday);
  if (cron.daysRestricted && cron.weekdaysRestricted) return dayOk || weekdayOk;
  return dayOk && weekdayOk;
}

const MINUTE_MS = 60_000;

/** Longest window {@link cronFiresIn} looks at (a day of minutes). */
export const MAX_CRON_WINDOW_MS = 24 * 60 * MINUTE_MS;

/**
 * The instants (whole minutes, epoch ms) in `(fromExclusive, toInclusive]` at which the expression
 * fires in `timeZone`, oldest first. Windows longer than a day are refused.
 */
export function cronFiresIn(
  cron: Cron,
  timeZone: string,
  fromExclusive: number,
  toInclusive: number,
): number[] {
  if (toInclusive - fromExclusive > MAX_CRON_WINDOW_MS) {
    throw new RangeError('cron windows are at most a day long');
  }
  const fires: number[] = [];
  let minute = Math.floor(fromExclusive / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (; minute <= toInclusive; minute += MINUTE_MS) {
    if (cronMatches(cron, localTime(minute, timeZone))) fires.push(minute);
  }
  return fires;
}

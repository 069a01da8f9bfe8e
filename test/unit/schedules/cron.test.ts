import { describe, expect, it } from 'vitest';
import { CronSyntaxError, cronFiresIn, localTime, parseCron } from '#shared/schedules/cron.ts';

const at = (iso: string) => Date.parse(iso);

describe('parseCron', () => {
  it('reads numbers, ranges, steps, lists and names', () => {
    const cron = parseCron('*/15 8-10,22 * jan-mar mon-fri');
    expect([...cron.minutes]).toEqual([0, 15, 30, 45]);
    expect([...cron.hours]).toEqual([8, 9, 10, 22]);
    expect([...cron.months]).toEqual([1, 2, 3]);
    expect([...cron.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect(cron.daysRestricted).toBe(false);
  });

  it('treats weekday 7 as Sunday', () => {
    expect([...parseCron('0 0 * * 7').weekdays]).toEqual([0]);
  });

  it.each([
    ['0 8 * *', /needs 5 fields/],
    ['60 8 * * *', /minute: 60 is outside 0-59/],
    ['0 8 * * mon-', /day of week: "" is not a number/],
    ['0 10-8 * * *', /runs backwards/],
    ['*/0 * * * *', /step "0"/],
    ['0 8 32 * *', /day of month: 32/],
  ])('refuses %s naming the field', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(CronSyntaxError);
    expect(() => parseCron(expression)).toThrow(message);
  });
});

describe('cronFiresIn', () => {
  it('fires at the local time of the zone, once per matching minute', () => {
    const night = parseCron('0 22 * * *');
    // 22:00 in Berlin is 21:00 UTC in winter
    expect(
      cronFiresIn(night, 'Europe/Berlin', at('2026-12-07T20:55:00Z'), at('2026-12-07T21:05:00Z')),
    ).toEqual([at('2026-12-07T21:00:00Z')]);
    // the window is (from, to]: the fire time as the window's start is not repeated
    expect(
      cronFiresIn(night, 'Europe/Berlin', at('2026-12-07T21:00:00Z'), at('2026-12-07T21:05:00Z')),
    ).toEqual([]);
  });

  it('uses either day field when both are restricted (Vixie cron)', () => {
    const cron = parseCron('0 12 1 * mon');
    // 2026-12-07 is a Monday, 2026-12-01 a Tuesday, 2026-12-02 a Wednesday
    const fires = (day: string) =>
      cronFiresIn(cron, 'UTC', at(`${day}T11:59:00Z`), at(`${day}T12:00:00Z`)).length;
    expect([fires('2026-12-07'), fires('2026-12-01'), fires('2026-12-02')]).toEqual([1, 1, 0]);
  });

  it('skips a local time a daylight-saving jump removes', () => {
    // 2026-03-29 02:30 does not exist in Berlin (01:59 CET → 03:00 CEST)
    const cron = parseCron('30 2 * * *');
    expect(
      cronFiresIn(cron, 'Europe/Berlin', at('2026-03-28T23:00:00Z'), at('2026-03-29T03:00:00Z')),
    ).toEqual([]);
  });

  it('refuses an unknown time zone', () => {
    expect(() => localTime(0, 'Mars/Olympus')).toThrow(CronSyntaxError);
  });
});

import { describe, expect, it } from 'vitest';
import {
  isTimeoutFailure,
  leaseTtlWithin,
  MAX_STOP_MARGIN_MS,
  MIN_STOP_MARGIN_MS,
  mayStart,
  runBudget,
  timedOutMessage,
} from '#shared/sync/run-deadline.ts';

describe('runBudget', () => {
  it('stops new work a tenth of the budget before the deadline, within the bounds', () => {
    const start = 1_000_000;
    const lambda240 = runBudget(start, start + 240_000);
    expect(lambda240.stopStartingAt).toBe(start + 240_000 - MAX_STOP_MARGIN_MS);
    expect(lambda240.abandonAt).toBe(start + 240_000 - MAX_STOP_MARGIN_MS / 2);
    const lambda60 = runBudget(start, start + 60_000);
    expect(lambda60.stopStartingAt).toBe(start + 54_000);
    const short = runBudget(start, start + 20_000);
    expect(short.stopStartingAt).toBe(start + 20_000 - MIN_STOP_MARGIN_MS);
  });

  it('never keeps more than half of a tiny budget as margin', () => {
    const budget = runBudget(0, 4_000);
    expect(budget.stopStartingAt).toBe(2_000);
    expect(mayStart(budget, 1_999)).toBe(true);
    expect(mayStart(budget, 2_000)).toBe(false);
  });

  it('has no phases without a deadline', () => {
    const budget = runBudget(0, undefined);
    expect(budget).toEqual({ deadlineAt: null, stopStartingAt: null, abandonAt: null });
    expect(mayStart(budget, Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});

describe('leaseTtlWithin', () => {
  it('ends the lease at the deadline when the deadline comes first', () => {
    expect(leaseTtlWithin(360_000, 1_000, 1_000 + 240_000)).toBe(240_000);
    expect(leaseTtlWithin(60_000, 1_000, 1_000 + 240_000)).toBe(60_000);
    expect(leaseTtlWithin(360_000, 1_000, null)).toBe(360_000);
  });
});

describe('timed-out runs', () => {
  it('says how long the run took and how far it got', () => {
    expect(timedOutMessage(239_600, 1_234, 5_000)).toBe('timed out after 240 s, 1234 of 5000 guests done');
    expect(timedOutMessage(58_000, 0, null)).toBe('timed out after 58 s');
  });

  it('recognises the Step Functions records of a Lambda or task timeout, not other failures', () => {
    expect(
      isTimeoutFailure(
        '{"Error":"Sandbox.Timedout","Cause":"{\\"errorMessage\\":\\"Task timed out after 240.00 seconds\\"}"}',
      ),
    ).toBe(true);
    expect(isTimeoutFailure('{"Error":"States.Timeout","Cause":"The task timed out."}')).toBe(true);
    expect(isTimeoutFailure('{"Error":"Lambda.Unknown","Cause":"out of memory"}')).toBe(false);
    expect(isTimeoutFailure('{"Error":"TypeError","Cause":"x is undefined"}')).toBe(false);
  });
});

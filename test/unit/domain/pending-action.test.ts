import { describe, expect, it } from 'vitest';
import { expectedStatusAfter, isPendingActionSettled } from '#shared/domain/pending-action.ts';

const since = 1_000_000;

describe('expectedStatusAfter', () => {
  it.each([
    ['start', 'running'],
    ['reboot', 'running'],
    ['stop', 'stopped'],
    ['shutdown', 'stopped'],
  ] as const)('%s leads to %s', (action, status) => {
    expect(expectedStatusAfter(action)).toBe(status);
  });
});

describe('isPendingActionSettled', () => {
  it.each([
    { case: 'no action', vm: {}, status: 'running', at: since + 5_000, settled: false },
    {
      case: 'observation began before the action',
      vm: { pending_action: 'start', pending_since: since },
      status: 'running',
      at: since - 1,
      settled: false,
    },
    {
      case: 'observation at the same instant',
      vm: { pending_action: 'start', pending_since: since },
      status: 'running',
      at: since,
      settled: false,
    },
    {
      case: 'later observation sees the aimed status',
      vm: { pending_action: 'start', pending_since: since },
      status: 'running',
      at: since + 1,
      settled: true,
    },
    {
      case: 'later observation sees the old status',
      vm: { pending_action: 'shutdown', pending_since: since },
      status: 'running',
      at: since + 30_000,
      settled: false,
    },
    {
      case: 'expired action',
      vm: { pending_action: 'shutdown', pending_since: since },
      status: 'running',
      at: since + 120_001,
      settled: true,
    },
  ] as const)('$case → $settled', ({ vm, status, at, settled }) => {
    expect(isPendingActionSettled(vm, status, at)).toBe(settled);
  });
});

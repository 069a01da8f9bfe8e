import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeAgo } from '../src/components/time-ago.tsx';

/** The "12 s ago" labels: one shared clock ticks every label each second, and stops when none is shown. */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-12-07T10:00:00.000Z'));
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('TimeAgo', () => {
  it('counts up every second on one timer, which stops when no label is left', () => {
    const { unmount } = render(
      <p>
        <span data-testid="a">
          <TimeAgo iso="2026-12-07T09:59:55.000Z" />
        </span>
        <span data-testid="b">
          <TimeAgo iso="2026-12-07T09:58:00.000Z" />
        </span>
        <span data-testid="c">
          <TimeAgo iso={null} />
        </span>
      </p>,
    );
    expect(screen.getByTestId('a').textContent).toBe('5 s ago');
    expect(screen.getByTestId('b').textContent).toBe('2 min ago');
    expect(screen.getByTestId('c').textContent).toBe('never');
    expect(vi.getTimerCount()).toBe(1);
    act(() => vi.advanceTimersByTime(2000));
    expect(screen.getByTestId('a').textContent).toBe('7 s ago');
    unmount();
    expect(vi.getTimerCount()).toBe(0);
  });
});

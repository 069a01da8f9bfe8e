import { describe, expect, it } from 'vitest';
import { triggerExecutionName } from '#shared/trigger/trigger-service.ts';

describe('triggerExecutionName', () => {
  it('names the mode, the cluster scope and the start of the window', () => {
    const at = Date.parse('2026-11-25T22:07:42.123Z');
    expect(triggerExecutionName('full', null, at, 60_000)).toBe('manual-full-all-20261125T220700');
    expect(triggerExecutionName('quick', 'lab-a', at, 300_000)).toBe('manual-quick-lab-a-20261125T220500');
  });

  it('gives the same name within a window and another in the next', () => {
    const start = Date.parse('2026-11-25T22:07:00Z');
    expect(triggerExecutionName('full', 'x', start + 59_999, 60_000)).toBe(
      triggerExecutionName('full', 'x', start, 60_000),
    );
    expect(triggerExecutionName('full', 'x', start + 60_000, 60_000)).not.toBe(
      triggerExecutionName('full', 'x', start, 60_000),
    );
  });

  it('stays within Step Functions’ 80 characters of [A-Za-z0-9-] for the longest cluster id', () => {
    const name = triggerExecutionName('quick', `a${'b'.repeat(39)}`, Date.now(), 60_000);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9-]+$/);
  });
});

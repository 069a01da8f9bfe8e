import { describe, expect, it } from 'vitest';
import { vmFreshness } from '#shared/domain/staleness.ts';

const now = Date.parse('2026-11-25T12:00:00.000Z');
const node = { online: true, last_seen_at: now - 30_000, last_online_at: now - 30_000 };

describe('staleness after a failed sync (rule added for the sync engine)', () => {
  it('marks the rows of a cluster whose latest attempt failed as stale, keeping the last check time', () => {
    const cluster = { last_success_at: now - 30_000, nodes: { pve1: node } };
    expect(vmFreshness({ node: 'pve1' }, { ...cluster, consecutive_errors: 0 }, now)).toEqual({
      stale: false,
      lastStatusCheck: now - 30_000,
    });
    expect(vmFreshness({ node: 'pve1' }, { ...cluster, consecutive_errors: 1 }, now)).toEqual({
      stale: true,
      lastStatusCheck: now - 30_000,
    });
  });

  it('keeps working for callers that pass no error count', () => {
    expect(vmFreshness({ node: 'pve1' }, { last_success_at: now, nodes: { pve1: node } }, now).stale).toBe(
      false,
    );
  });
});

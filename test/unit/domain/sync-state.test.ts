import { describe, expect, it } from 'vitest';
import { ClusterStateSchema, LeaseKindSchema, LeaseSchema } from '#shared/domain/sync-state.ts';

describe('sync state schemas', () => {
  it('fills a new cluster state with empty defaults', () => {
    expect(ClusterStateSchema.parse({ cluster_id: 'lab-a' })).toEqual({
      cluster_id: 'lab-a',
      cluster_name: null,
      last_quick_sync_at: null,
      last_full_sync_at: null,
      last_success_at: null,
      last_attempt_at: null,
      consecutive_errors: 0,
      backoff_until: null,
      last_error: null,
      nodes: {},
      counts: { total: 0, running: 0, error: 0, templates: 0 },
      updated_at: null,
    });
  });

  it.each([
    ['negative errors', { consecutive_errors: -1 }],
    ['an ISO time where epoch ms is stored', { last_success_at: '2026-11-25T12:00:00Z' }],
    ['a node without its online flag', { nodes: { pve1: { last_seen_at: 1 } } }],
    ['an error over 500 characters', { last_error: 'e'.repeat(501) }],
  ])('rejects %s', (_label, override) => {
    expect(ClusterStateSchema.safeParse({ cluster_id: 'lab-a', ...override }).success).toBe(false);
  });

  it('accepts lower-case lease kinds only', () => {
    expect(LeaseKindSchema.safeParse('refresh').success).toBe(true);
    expect(LeaseKindSchema.safeParse('FULL').success).toBe(false);
    expect(LeaseKindSchema.safeParse('a#b').success).toBe(false);
    expect(
      LeaseSchema.safeParse({ cluster_id: 'c', kind: 'full', owner: '', acquired_at: 0, lease_expires_at: 1 })
        .success,
    ).toBe(false);
  });
});

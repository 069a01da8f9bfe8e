import { describe, expect, it } from 'vitest';
import { DEFAULT_STALE_AFTER_MS, vmFreshness } from '#shared/domain/staleness.ts';
import { clusterState } from './fixtures.ts';

const now = Date.parse('2026-11-25T12:00:00.000Z');
const min = 60_000;
const online = (at: number | null) => ({ online: true, last_seen_at: at, last_online_at: at });

describe('vmFreshness', () => {
  it('uses a 10-minute cutoff by default', () => {
    expect(DEFAULT_STALE_AFTER_MS).toBe(10 * min);
  });

  it.each([
    {
      label: 'fresh cluster and node',
      cluster: now - 1 * min,
      node: online(now - 1 * min),
      stale: false,
      check: now - 1 * min,
    },
    {
      label: 'exactly at the cutoff',
      cluster: now - 10 * min,
      node: online(now - 10 * min),
      stale: false,
      check: now - 10 * min,
    },
    {
      label: 'cluster just past the cutoff',
      cluster: now - 10 * min - 1,
      node: online(now - 10 * min - 1),
      stale: true,
      check: now - 10 * min - 1,
    },
    { label: 'cluster never synced', cluster: null, node: undefined, stale: true, check: null },
    {
      label: 'node not recorded: the cluster stands for it',
      cluster: now - 2 * min,
      node: undefined,
      stale: false,
      check: now - 2 * min,
    },
    {
      label: 'node offline now, last online a minute ago',
      cluster: now - 0.5 * min,
      node: { online: false, last_seen_at: now - 0.5 * min, last_online_at: now - 1 * min },
      stale: true,
      check: now - 1 * min,
    },
    {
      label: 'node online but last seen online long ago (inconsistent state)',
      cluster: now - 1 * min,
      node: online(now - 30 * min),
      stale: true,
      check: now - 30 * min,
    },
    {
      label: 'node never online',
      cluster: now - 1 * min,
      node: { online: false, last_seen_at: now - 1 * min, last_online_at: null },
      stale: true,
      check: null,
    },
  ])('$label → stale=$stale', ({ cluster, node, stale, check }) => {
    const state = clusterState(cluster, node ? { pve1: node } : {});
    expect(vmFreshness({ node: 'pve1' }, state, now)).toEqual({ stale, lastStatusCheck: check });
  });

  it('treats a missing cluster state as stale and never checked', () => {
    expect(vmFreshness({ node: 'pve1' }, null, now)).toEqual({ stale: true, lastStatusCheck: null });
  });

  it('marks a VM whose status the listing could not tell as stale', () => {
    const state = clusterState(now - min, { pve1: online(now - min) });
    expect(vmFreshness({ node: 'pve1', unobserved_since: now - 3 * min }, state, now)).toEqual({
      stale: true,
      lastStatusCheck: now - 3 * min,
    });
  });

  it('honours a custom cutoff', () => {
    const state = clusterState(now - 3 * min, { pve1: online(now - 3 * min) });
    expect(vmFreshness({ node: 'pve1' }, state, now, 2 * min).stale).toBe(true);
    expect(vmFreshness({ node: 'pve1' }, state, now, 5 * min).stale).toBe(false);
  });
});

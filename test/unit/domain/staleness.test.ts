import { describe, expect, it } from 'vitest';
import { DEFAULT_STALE_AFTER_MS, vmFreshness, vmLastUpdated } from '#shared/domain/staleness.ts';
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

describe('vmLastUpdated', () => {
  const full = (at: number | null, nodes: Record<string, { last_full_online_at?: number | null }> = {}) => ({
    last_full_sync_at: at,
    nodes: Object.fromEntries(
      Object.entries(nodes).map(([name, node]) => [name, { ...online(at), ...node }]),
    ),
  });

  it('is the last full sync that saw the guest, not when its item was written', () => {
    const vm = { node: 'pve1', last_updated: now - 40 * min };
    expect(vmLastUpdated(vm, full(now - 2 * min, { pve1: { last_full_online_at: now - 2 * min } }))).toBe(
      now - 2 * min,
    );
  });

  it('stops at the last full sync that found the node online', () => {
    const vm = { node: 'pve2', last_updated: now - 40 * min };
    const cluster = full(now - 2 * min, { pve2: { last_full_online_at: now - 25 * min } });
    expect(vmLastUpdated(vm, cluster)).toBe(now - 25 * min);
  });

  it('keeps the written time of a guest whose details are pending or whose status was unknown', () => {
    const cluster = full(now - 2 * min, { pve1: { last_full_online_at: now - 2 * min } });
    expect(vmLastUpdated({ node: 'pve1', last_updated: null, details_pending: true }, cluster)).toBeNull();
    expect(
      vmLastUpdated(
        { node: 'pve1', last_updated: now - 30 * min, unobserved_since: now - 20 * min },
        cluster,
      ),
    ).toBe(now - 30 * min);
  });

  it('is the written time when the cluster never had a full sync', () => {
    expect(vmLastUpdated({ node: 'pve1', last_updated: now - 3 * min }, full(null))).toBe(now - 3 * min);
  });
});

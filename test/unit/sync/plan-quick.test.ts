import { describe, expect, it } from 'vitest';
import type { ClusterRuntime } from '#shared/domain/runtime-stats.ts';
import { countVms, planListing } from '#shared/sync/plan-quick.ts';
import { listing, MIB, nodeRow, parseNew, row, T0 } from './fixtures.ts';

const noRuntime: ClusterRuntime = new Map();

/** Applies a first plan and returns the stored items and runtime it leads to. */
function storedAfter(guests: ReturnType<typeof row>[]) {
  const plan = planListing(listing(guests), [], noRuntime, {}, parseNew);
  const runtime: ClusterRuntime = new Map(
    plan.runtimeWrites.map((w) => [
      w.node,
      { node: w.node, observed_at: T0, chunk_count: 1, stats: w.stats },
    ]),
  );
  return { stored: [...plan.view.values()], runtime, nodes: plan.nodes };
}

describe('planListing', () => {
  it('creates guests seen for the first time with what the listing tells', () => {
    const plan = planListing(listing([row(100)]), [], noRuntime, {}, parseNew);
    expect(plan.creates).toEqual([
      expect.objectContaining({
        cluster_id: 'lab-a',
        vmid: 100,
        name: 'vm-100',
        status: 'running',
        memory: 2048,
        cores: 2,
        disk_size: 32 * 1024 * MIB,
        tag_list: ['lab', 'web'],
        category: 'other',
        boot_time: T0 - 3_600_000,
        observed_at: T0,
        unobserved_since: null,
      }),
    ]);
    expect(plan.changes).toEqual([]);
    expect(plan.observable).toEqual(new Set([100]));
  });

  it('plans nothing for an unchanged fleet, even when uptime moved on', () => {
    const { stored, runtime, nodes } = storedAfter([row(100), row(101, { node: 'pve2' })]);
    const later = listing([row(100, { uptime: 3_630 }), row(101, { node: 'pve2', uptime: 3_630 })], {
      observedAt: T0 + 30_000,
    });
    const plan = planListing(later, stored, runtime, nodes, parseNew);
    expect(plan).toMatchObject({
      creates: [],
      changes: [],
      removals: [],
      runtimeWrites: [],
      runtimeDeletes: [],
    });
  });

  it('writes only a node chunk when only the load changed', () => {
    const { stored, runtime, nodes } = storedAfter([row(100), row(101, { node: 'pve2' })]);
    const plan = planListing(
      listing([row(100, { cpu: 0.5 }), row(101, { node: 'pve2' })], { observedAt: T0 + 30_000 }),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    // Each node names the runtime set readers will find: the new one, or the one kept.
    expect(plan.nodes.pve1?.runtime_at).toBe(T0 + 30_000);
    expect(plan.nodes.pve2?.runtime_at).toBe(T0);
    expect(plan.changes).toEqual([]);
    expect(plan.runtimeWrites.map((w) => w.node)).toEqual(['pve1']);
    expect(plan.runtimeWrites[0]?.stats.get(100)).toEqual({ cpu_usage: 50, memory_usage: 25 });
  });

  it('gives a new runtime set a later time than the one it replaces, even in the same millisecond', () => {
    const { stored, runtime, nodes } = storedAfter([row(100)]);
    // a second pass observed at the very time of the stored set (T0), with another load
    const plan = planListing(listing([row(100, { cpu: 0.5 })]), stored, runtime, nodes, parseNew);
    expect(plan.runtimeWrites.map((w) => [w.node, w.observedAt])).toEqual([['pve1', T0 + 1]]);
    // readers holding the set of T0 (the read cache) see the node moved
    expect(plan.nodes.pve1?.runtime_at).toBe(T0 + 1);
  });

  it('updates status, node and boot time of known guests', () => {
    const { stored, runtime, nodes } = storedAfter([row(100)]);
    const plan = planListing(
      listing([row(100, { status: 'stopped', uptime: 0, node: 'pve2' })]),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    expect(plan.changes).toEqual([{ vmid: 100, set: { status: 'stopped', node: 'pve2', boot_time: null } }]);
  });

  it('keeps the last known data of guests on a node that is not online', () => {
    const { stored, runtime, nodes } = storedAfter([row(100)]);
    const plan = planListing(
      listing([row(100, { status: 'unknown', uptime: undefined, cpu: undefined })], {
        nodes: [nodeRow('pve1', 'offline'), nodeRow('pve2')],
      }),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    expect(plan.changes).toEqual([]);
    expect(plan.runtimeWrites).toEqual([]);
    expect(plan.nodes.pve1).toEqual({
      online: false,
      last_seen_at: T0,
      last_online_at: T0,
      last_full_online_at: null,
      // its runtime set stays the one written before
      runtime_at: T0,
    });
    expect(plan.observable.size).toBe(0);
    expect(plan.view.get(100)).toEqual(stored[0]);
  });

  it('marks a guest whose status is unknown on an online node as unobserved, once', () => {
    const { stored, runtime, nodes } = storedAfter([row(100)]);
    const first = planListing(listing([row(100, { status: 'unknown' })]), stored, runtime, nodes, parseNew);
    expect(first.changes).toEqual([{ vmid: 100, set: { unobserved_since: T0 } }]);
    const again = planListing(
      listing([row(100, { status: 'unknown' })]),
      [...first.view.values()],
      runtime,
      nodes,
      parseNew,
    );
    expect(again.changes).toEqual([]);
  });

  it('removes guests the listing lost, but never those of an offline node', () => {
    const { stored, runtime, nodes } = storedAfter([row(100), row(101, { node: 'pve2' })]);
    const gone = planListing(listing([]), stored, runtime, nodes, parseNew);
    expect(gone.removals.sort()).toEqual([100, 101]);
    const partial = planListing(
      listing([], { nodes: [nodeRow('pve1'), nodeRow('pve2', 'offline')] }),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    expect(partial.removals).toEqual([100]);
    expect(partial.view.has(101)).toBe(true);
  });

  it('replaces a guest whose VMID now names a guest of another type', () => {
    const { stored, runtime, nodes } = storedAfter([row(100)]);
    const plan = planListing(
      listing([row(100, { type: 'lxc', id: 'lxc/100', name: 'ct' })]),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    expect(plan.removals).toEqual([100]);
    expect(plan.creates).toEqual([expect.objectContaining({ vmid: 100, type: 'lxc', name: 'ct' })]);
  });

  it('settles a pending start once an observation that began after it sees the guest running', () => {
    const { stored, runtime, nodes } = storedAfter([row(100, { status: 'stopped', uptime: 0 })]);
    const pending = stored.map((vm) => ({
      ...vm,
      pending_action: 'start' as const,
      pending_since: T0 + 10_000,
    }));
    const running = [row(100)];
    const before = planListing(
      listing(running, { observedAt: T0 + 5_000 }),
      pending,
      runtime,
      nodes,
      parseNew,
    );
    expect(before.settledActions).toEqual([]);
    const stillStopped = [row(100, { status: 'stopped', uptime: 0 })];
    const notYet = planListing(
      listing(stillStopped, { observedAt: T0 + 20_000 }),
      pending,
      runtime,
      nodes,
      parseNew,
    );
    expect(notYet.settledActions).toEqual([]);
    const after = planListing(
      listing(running, { observedAt: T0 + 20_000 }),
      pending,
      runtime,
      nodes,
      parseNew,
    );
    expect(after.settledActions).toEqual([{ vmid: 100, since: T0 + 10_000 }]);
  });

  it('settles an expired pending action whatever the guest shows', () => {
    const { stored, runtime, nodes } = storedAfter([row(100, { status: 'stopped', uptime: 0 })]);
    const pending = stored.map((vm) => ({ ...vm, pending_action: 'start' as const, pending_since: T0 }));
    const stillStopped = [row(100, { status: 'stopped', uptime: 0 })];
    const plan = planListing(
      listing(stillStopped, { observedAt: T0 + 121_000 }),
      pending,
      runtime,
      nodes,
      parseNew,
    );
    expect(plan.settledActions).toEqual([{ vmid: 100, since: T0 }]);
  });

  it('drops the runtime of a node that left the cluster', () => {
    const { stored, runtime, nodes } = storedAfter([row(100), row(101, { node: 'pve2' })]);
    const plan = planListing(
      listing([row(100)], { nodes: [nodeRow('pve1')] }),
      stored,
      runtime,
      nodes,
      parseNew,
    );
    expect(plan.runtimeDeletes).toEqual(['pve2']);
    expect(plan.removals).toEqual([101]);
  });
});

describe('countVms', () => {
  it('counts total, running, errors, templates and guests per node', () => {
    const { stored } = storedAfter([
      row(100),
      row(101, { status: 'stopped' }),
      row(102, { template: true, status: 'stopped' }),
    ]);
    const withError = stored.map((vm) => (vm.vmid === 101 ? { ...vm, sync_error: 'x' } : vm));
    const unknown = withError.map((vm) => (vm.vmid === 102 ? { ...vm, unobserved_since: 1 } : vm));
    expect(countVms(unknown)).toEqual({
      total: 3,
      running: 1,
      error: 1,
      templates: 1,
      by_node: { [stored[0]?.node ?? '']: { total: 3, unobserved: 1 } },
    });
  });
});

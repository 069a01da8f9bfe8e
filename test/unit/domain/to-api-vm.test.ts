import { describe, expect, it } from 'vitest';
import { toApiVm } from '#shared/domain/to-api-vm.ts';
import { ApiVmSchema } from '#shared/domain/vm-record.ts';
import { clusterState, storedVm } from './fixtures.ts';

const now = Date.parse('2026-11-25T12:00:00.000Z');
const fresh = clusterState(now - 20_000, {
  pve1: { online: true, last_seen_at: now - 20_000, last_online_at: now - 20_000 },
});

describe('toApiVm', () => {
  it('produces a valid API VM with runtime stats, uptime, tags and ISO times', () => {
    const api = toApiVm(storedVm(), { cpu_usage: 12.5, memory_usage: 40.1 }, fresh, { nowMs: now });
    expect(ApiVmSchema.safeParse(api).success).toBe(true);
    expect(api).toMatchObject({
      cluster_id: 'lab-a',
      vmid: 101,
      uptime: 7200,
      cpu_usage: 12.5,
      memory_usage: 40.1,
      tags: 'lab,win',
      tag_list: ['lab', 'win'],
      // the cluster's last full sync saw the guest after its details were written
      last_updated: '2026-11-25T11:59:40.000Z',
      last_status_check: '2026-11-25T11:59:40.000Z',
      details_pending: false,
      stale: false,
      pending_action: null,
      pending_since: null,
      pending_upid: null,
    });
  });

  it('reports zero uptime and usage for a stopped VM, even with a leftover sample', () => {
    const api = toApiVm(
      storedVm({ status: 'stopped', boot_time: null }),
      { cpu_usage: 3, memory_usage: 9 },
      fresh,
      {
        nowMs: now,
      },
    );
    expect(api).toMatchObject({ uptime: 0, cpu_usage: 0, memory_usage: 0 });
  });

  it('reports zero usage for a running VM without a sample', () => {
    expect(toApiVm(storedVm(), undefined, fresh, { nowMs: now })).toMatchObject({
      cpu_usage: 0,
      memory_usage: 0,
    });
  });

  it('derives stale and last_status_check from the cluster state', () => {
    const old = clusterState(now - 11 * 60_000);
    expect(toApiVm(storedVm(), undefined, old, { nowMs: now })).toMatchObject({
      stale: true,
      last_status_check: '2026-11-25T11:49:00.000Z',
    });
    expect(toApiVm(storedVm(), undefined, undefined, { nowMs: now })).toMatchObject({
      stale: true,
      last_status_check: null,
    });
  });

  it('shows a live pending action with ISO time and hides an expired one', () => {
    const pending = storedVm({
      pending_action: 'start',
      pending_since: now - 5_000,
      pending_upid: 'UPID:pve1:1',
    });
    expect(toApiVm(pending, undefined, fresh, { nowMs: now })).toMatchObject({
      pending_action: 'start',
      pending_since: '2026-11-25T11:59:55.000Z',
      pending_upid: 'UPID:pve1:1',
    });
    const expired = storedVm({ pending_action: 'start', pending_since: now - 121_000 });
    expect(toApiVm(expired, undefined, fresh, { nowMs: now }).pending_action).toBeNull();
  });

  it('does not share the tag array with the stored item', () => {
    const vm = storedVm();
    const api = toApiVm(vm, undefined, fresh, { nowMs: now });
    api.tag_list.push('x');
    expect(vm.tag_list).toEqual(['lab', 'win']);
  });
});

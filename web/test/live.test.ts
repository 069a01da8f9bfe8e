import { describe, expect, it } from 'vitest';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { applyLiveMessage } from '../src/lib/live.ts';

const vm = (cluster_id: string, vmid: number, overrides: Partial<ApiVm> = {}): ApiVm => ({
  cluster_id,
  cluster_name: cluster_id,
  vmid,
  name: `vm-${vmid}`,
  node: 'pve1',
  type: 'qemu',
  category: 'linux',
  status: 'stopped',
  ip: null,
  mac: null,
  memory: 1024,
  cores: 1,
  disk_size: 1,
  uptime: 0,
  cpu_usage: 0,
  memory_usage: 0,
  is_template: false,
  tags: '',
  tag_list: [],
  pool: null,
  lock: null,
  hastate: null,
  rdp_available: false,
  ssh_available: false,
  last_updated: null,
  last_status_check: null,
  details_pending: false,
  sync_error: null,
  stale: false,
  pending_action: null,
  pending_since: null,
  pending_upid: null,
  ...overrides,
});

describe('live updates in the portal', () => {
  it('merges changed fields, adds whole VMs in list order and drops removed ones', () => {
    const list = [vm('a', 100), vm('a', 101)];
    const next = applyLiveMessage(list, {
      type: 'delta',
      cluster: 'a',
      version: 4,
      vms: [{ cluster_id: 'a', vmid: 100, status: 'running', cpu_usage: 12.5 }, vm('a', 99)],
      removed: [{ cluster_id: 'a', vmid: 101 }],
    });
    expect(next).toEqual([vm('a', 99), vm('a', 100, { status: 'running', cpu_usage: 12.5 })]);
  });

  it('asks for a reload on a resync, or a partial change of a VM the list does not hold', () => {
    expect(applyLiveMessage([], { type: 'resync', cluster: 'a', version: 3, reason: 'gap' })).toBe('reload');
    expect(
      applyLiveMessage([], {
        type: 'delta',
        cluster: 'a',
        version: 3,
        vms: [{ cluster_id: 'a', vmid: 5, status: 'running' }],
        removed: [],
      }),
    ).toBe('reload');
    expect(applyLiveMessage([vm('a', 100)], { type: 'pong' })).toBeNull();
  });

  it('sets CPU and memory from a runtime frame on held VMs only, ignoring other clusters and unknown VMs', () => {
    const list = [vm('a', 100, { status: 'running' }), vm('b', 100, { status: 'running' }), vm('a', 101)];
    const next = applyLiveMessage(list, {
      type: 'runtime',
      cluster: 'a',
      version: 7,
      vms: [
        [100, 3.5, 41.2],
        [555, 9, 9],
      ],
    });
    expect(next).toEqual([
      vm('a', 100, { status: 'running', cpu_usage: 3.5, memory_usage: 41.2 }),
      vm('b', 100, { status: 'running' }),
      vm('a', 101),
    ]);
  });
});

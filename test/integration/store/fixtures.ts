import type { NewStoredVm } from '#shared/domain/vm-record.ts';

/** A new stored VM of `cluster_id` with defaults for a running Linux guest. */
export function newVm(cluster_id: string, vmid: number, overrides: Partial<NewStoredVm> = {}): NewStoredVm {
  return {
    cluster_id,
    vmid,
    cluster_name: `Cluster ${cluster_id}`,
    name: `guest-${vmid}-${'x'.repeat(40)}`,
    node: `pve${vmid % 3}`,
    type: 'qemu',
    category: 'linux',
    status: 'running',
    ip: `10.${(vmid >> 16) & 255}.${(vmid >> 8) & 255}.${vmid & 255}`,
    mac: 'BC:24:11:AA:BB:CC',
    memory: 2048,
    cores: 2,
    disk_size: 10_737_418_240,
    is_template: false,
    tag_list: ['lab', 'student', 'linux'],
    observed_at: 1_000,
    ...overrides,
  };
}

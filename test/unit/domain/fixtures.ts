import type { ClusterState } from '#shared/domain/sync-state.ts';
import { type StoredVm, StoredVmSchema } from '#shared/domain/vm-record.ts';

/** A valid stored VM item (defaults applied); override fields per test. */
export function storedVm(overrides: Partial<StoredVm> = {}): StoredVm {
  return StoredVmSchema.parse({
    cluster_id: 'lab-a',
    vmid: 101,
    cluster_name: 'Lab A',
    name: 'win-101',
    node: 'pve1',
    type: 'qemu',
    category: 'windows',
    status: 'running',
    ip: '10.0.0.101',
    mac: 'BC:24:11:00:00:65',
    memory: 4096,
    cores: 2,
    disk_size: 34_359_738_368,
    is_template: false,
    tag_list: ['lab', 'win'],
    rdp_available: true,
    ssh_available: false,
    boot_time: Date.parse('2026-11-25T10:00:00.000Z'),
    last_updated: Date.parse('2026-11-25T11:55:00.000Z'),
    observed_at: Date.parse('2026-11-25T11:59:30.000Z'),
    ...overrides,
  });
}

/** A cluster state whose last success and node observations are at `at`. */
export function clusterState(at: number | null, nodes: ClusterState['nodes'] = {}): ClusterState {
  return {
    cluster_id: 'lab-a',
    cluster_name: 'Lab A',
    last_quick_sync_at: at,
    last_full_sync_at: at,
    last_success_at: at,
    last_attempt_at: at,
    consecutive_errors: 0,
    backoff_until: null,
    last_error: null,
    nodes,
    counts: { total: 0, running: 0, error: 0, templates: 0 },
    updated_at: at,
  };
}

import { type ApiVm, ApiVmSchema } from '#shared/domain/vm-record.ts';

/** A valid API VM (checked against the API's schema) with the given fields changed. */
export function vmFixture(overrides: Partial<ApiVm> = {}): ApiVm {
  const vmid = overrides.vmid ?? 101;
  return ApiVmSchema.parse({
    cluster_id: 'lab-a',
    cluster_name: 'Lab A',
    vmid,
    name: `vm-${vmid}`,
    node: 'pve1',
    type: 'qemu',
    category: 'linux',
    status: 'running',
    ip: '10.0.0.10',
    mac: null,
    memory: 2 * 1024 ** 3,
    cores: 2,
    disk_size: 32 * 1024 ** 3,
    uptime: 3600,
    cpu_usage: 12.5,
    memory_usage: 40,
    is_template: false,
    tags: '',
    tag_list: [],
    pool: null,
    lock: null,
    hastate: null,
    rdp_available: false,
    ssh_available: true,
    last_updated: '2026-12-07T10:00:00.000Z',
    last_status_check: '2026-12-07T10:00:00.000Z',
    sync_error: null,
    stale: false,
    pending_action: null,
    pending_since: null,
    pending_upid: null,
    ...overrides,
  });
}

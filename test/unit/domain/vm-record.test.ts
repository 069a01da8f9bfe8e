import { describe, expect, it } from 'vitest';
import {
  ApiVmSchema,
  bootTimeFromUptime,
  isSameBoot,
  listToTags,
  normalizeVmStatus,
  StoredVmSchema,
  tagsToList,
  truncateSyncError,
} from '#shared/domain/vm-record.ts';
import { storedVm } from './fixtures.ts';

const minimal = {
  cluster_id: 'lab-a',
  vmid: 100,
  cluster_name: 'Lab A',
  name: 'ct-100',
  node: 'pve1',
  type: 'lxc',
  category: 'linux',
  status: 'stopped',
  memory: 512,
  cores: 1,
  disk_size: 0,
  is_template: false,
  observed_at: 0,
};

describe('StoredVmSchema', () => {
  it('accepts a complete item', () => {
    expect(StoredVmSchema.safeParse(storedVm()).success).toBe(true);
  });

  it('fills defaults for the optional attributes of a minimal item', () => {
    const vm = StoredVmSchema.parse(minimal);
    expect(vm).toMatchObject({
      ip: null,
      mac: null,
      tag_list: [],
      pool: null,
      rdp_available: false,
      boot_time: null,
      sync_error: null,
      unobserved_since: null,
    });
    expect(vm.pending_action).toBeUndefined();
  });

  it('drops attributes it does not know (index attributes, keys of other designs)', () => {
    const vm = StoredVmSchema.parse({ ...minimal, error_cluster_id: 'lab-a' });
    expect(vm).not.toHaveProperty('error_cluster_id');
  });

  it.each([
    ['a VMID below 100', { vmid: 99 }, 'vmid'],
    ['a fractional VMID', { vmid: 100.5 }, 'vmid'],
    ['an unknown type', { type: 'docker' }, 'type'],
    ['an unknown status', { status: 'exploded' }, 'status'],
    ['an upper-case cluster id', { cluster_id: 'Lab-A' }, 'cluster_id'],
    ['negative memory', { memory: -1 }, 'memory'],
    ['a sync error over 500 characters', { sync_error: 'x'.repeat(501) }, 'sync_error'],
    ['a string observation time', { observed_at: '2026-11-25T12:00:00Z' }, 'observed_at'],
    ['an unknown pending action', { pending_action: 'destroy', pending_since: 1 }, 'pending_action'],
  ])('rejects %s', (_label, override, field) => {
    const result = StoredVmSchema.safeParse({ ...minimal, ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([field]);
  });

  it('rejects an item without its key', () => {
    const { vmid: _vmid, ...rest } = minimal;
    expect(StoredVmSchema.safeParse(rest).success).toBe(false);
  });
});

describe('ApiVmSchema', () => {
  it('rejects non-ISO times', () => {
    const result = ApiVmSchema.shape.last_updated.safeParse('25/11/2026');
    expect(result.success).toBe(false);
  });
});

describe('tags', () => {
  it.each([
    ['lab,win', ['lab', 'win']],
    ['lab;win', ['lab', 'win']],
    [' lab , win ,lab', ['lab', 'win']],
    ['', []],
    [null, []],
  ])('splits %j', (input, expected) => {
    expect(tagsToList(input)).toEqual(expected);
  });

  it('joins a list into the seed’s comma-separated string', () => {
    expect(listToTags(['lab', 'win'])).toBe('lab,win');
    expect(listToTags([])).toBe('');
  });
});

describe('helpers', () => {
  it('maps unknown Proxmox statuses to unknown', () => {
    expect(normalizeVmStatus('running')).toBe('running');
    expect(normalizeVmStatus('guest-panicked')).toBe('guest-panicked');
    expect(normalizeVmStatus('brand-new-state')).toBe('unknown');
    expect(normalizeVmStatus(undefined)).toBe('unknown');
  });

  it('truncates sync errors to 500 characters', () => {
    expect(truncateSyncError('short')).toBe('short');
    expect(truncateSyncError('x'.repeat(600))).toHaveLength(500);
  });

  it('derives a boot time and treats small differences as the same boot', () => {
    const at = Date.parse('2026-11-25T12:00:00Z');
    const boot = bootTimeFromUptime(at, 3600);
    expect(boot).toBe(Date.parse('2026-11-25T11:00:00Z'));
    expect(isSameBoot(boot, bootTimeFromUptime(at + 30_000, 3600 + 20))).toBe(true);
    expect(isSameBoot(boot, bootTimeFromUptime(at, 60))).toBe(false);
    expect(isSameBoot(null, null)).toBe(true);
    expect(isSameBoot(boot, null)).toBe(false);
  });
});

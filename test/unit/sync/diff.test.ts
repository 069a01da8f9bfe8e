import { describe, expect, it } from 'vitest';
import { StoredVmSchema } from '#shared/domain/vm-record.ts';
import { applyAttributes, diffAttributes } from '#shared/sync/diff.ts';

const vm = StoredVmSchema.parse({
  cluster_id: 'lab-a',
  vmid: 100,
  cluster_name: 'Lab A',
  name: 'web',
  node: 'pve1',
  type: 'qemu',
  category: 'linux',
  status: 'running',
  memory: 2048,
  cores: 2,
  disk_size: 1,
  is_template: false,
  tag_list: ['a', 'b'],
  observed_at: 1,
});

describe('diffAttributes', () => {
  it('returns only the attributes whose values differ', () => {
    expect(diffAttributes(vm, { name: 'web', status: 'stopped', tag_list: ['a', 'b'], ip: null })).toEqual({
      status: 'stopped',
    });
  });

  it('compares arrays element-wise and in order', () => {
    expect(diffAttributes(vm, { tag_list: ['b', 'a'] })).toEqual({ tag_list: ['b', 'a'] });
    expect(diffAttributes(vm, { tag_list: ['a'] })).toEqual({ tag_list: ['a'] });
  });

  it('ignores attributes that were not observed', () => {
    expect(diffAttributes(vm, { name: undefined })).toEqual({});
  });
});

describe('applyAttributes', () => {
  it('returns a copy with the changes applied', () => {
    const next = applyAttributes(vm, { status: 'stopped' });
    expect(next.status).toBe('stopped');
    expect(vm.status).toBe('running');
  });
});

import { describe, expect, it } from 'vitest';
import {
  compareVmKeys,
  DEFAULT_LIST_LIMIT,
  decodeListCursor,
  encodeListCursor,
  hasFilters,
  isAfterPosition,
  matchesFilters,
} from '#shared/api/list-query.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { storedVm } from '../domain/fixtures.ts';

describe('matchesFilters', () => {
  const vm = storedVm({
    name: 'Win-Exam-07',
    ip: '10.20.30.40',
    vmid: 4711,
    tag_list: ['Exam', 'win'],
    node: 'PVE2',
  });

  it.each([
    ['name, any case', { search: 'exam-07' }, true],
    ['IP', { search: '30.4' }, true],
    ['VMID', { search: '471' }, true],
    ['tag', { search: 'WIN' }, true],
    ['nothing', { search: 'linux' }, false],
    ['blank search matches all', { search: '  ' }, true],
    ['status', { status: 'running' as const }, true],
    ['other status', { status: 'stopped' as const }, false],
    ['node, any case', { node: 'pve2' }, true],
    ['tag exactly, any case', { tag: 'exam' }, true],
    ['tag prefix is not a tag', { tag: 'ex' }, false],
    ['cluster', { cluster: 'lab-b' }, false],
  ])('%s', (_label, filters, expected) => {
    expect(matchesFilters(vm, filters)).toBe(expected);
  });

  it('knows when no filter is set (cluster alone is a scope, not a filter)', () => {
    expect(hasFilters({ cluster: 'lab-a' })).toBe(false);
    expect(hasFilters({ tag: 'x' })).toBe(true);
  });
});

describe('cursor', () => {
  it('round-trips a position', () => {
    const position = { cluster: 'lab-b', afterVmid: 205 };
    expect(decodeListCursor(encodeListCursor(position))).toEqual(position);
    expect(decodeListCursor(encodeListCursor({ cluster: 'lab-c', afterVmid: null }))).toEqual({
      cluster: 'lab-c',
      afterVmid: null,
    });
  });

  it.each([
    'x',
    Buffer.from('{"c":"LAB","v":1}').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
  ])('refuses %s, naming query.cursor', (cursor) => {
    try {
      decodeListCursor(cursor);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).fields.map((f) => f.field)).toEqual(['query.cursor']);
    }
  });

  it('orders by cluster then VMID and resumes after a position', () => {
    const keys = [
      { cluster_id: 'lab-b', vmid: 100 },
      { cluster_id: 'lab-a', vmid: 300 },
      { cluster_id: 'lab-a', vmid: 101 },
    ].sort(compareVmKeys);
    expect(keys.map((k) => `${k.cluster_id}:${k.vmid}`)).toEqual(['lab-a:101', 'lab-a:300', 'lab-b:100']);
    const after = { cluster: 'lab-a', afterVmid: 101 };
    expect(keys.filter((k) => isAfterPosition(k, after)).map((k) => k.vmid)).toEqual([300, 100]);
  });

  it('documents the default page size as the maximum limit', () => {
    expect(DEFAULT_LIST_LIMIT).toBe(2000);
  });
});

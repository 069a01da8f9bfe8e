import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VIEW,
  filterVms,
  indexVms,
  parseView,
  serializeView,
  sortVms,
  staleClusters,
} from '../src/features/vms/view-state.ts';
import { vmFixture } from './fixtures.ts';

const fleet = [
  vmFixture({ vmid: 101, name: 'web-01', ip: '10.0.0.11', tag_list: ['exam', 'web'] }),
  vmFixture({ vmid: 102, name: 'db-01', ip: '10.0.0.12', status: 'stopped', tag_list: ['db'] }),
  vmFixture({
    vmid: 205,
    name: 'win-ad',
    ip: null,
    cluster_id: 'lab-b',
    cluster_name: 'Lab B',
    category: 'windows',
  }),
];
const names = (rows: ReturnType<typeof filterVms>) => rows.map((r) => r.vm.name);

describe('client-side search', () => {
  const rows = indexVms(fleet);
  it('matches name, IP, VMID and tags, case-insensitively', () => {
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: 'WEB' }))).toEqual(['web-01']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: '10.0.0.12' }))).toEqual(['db-01']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: '205' }))).toEqual(['win-ad']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: 'exam' }))).toEqual(['web-01']);
  });
  it('needs every word of the search to match', () => {
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: 'web exam' }))).toEqual(['web-01']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, q: 'web db' }))).toEqual([]);
  });
  it('combines the cluster, status and tag filters with the search', () => {
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, cluster: 'lab-b' }))).toEqual(['win-ad']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, status: 'stopped' }))).toEqual(['db-01']);
    expect(names(filterVms(rows, { ...DEFAULT_VIEW, tag: 'db', q: 'web' }))).toEqual([]);
  });
  it('filters stale VMs and VMs with a sync error for troubleshooting', () => {
    const mixed = indexVms([
      vmFixture({ vmid: 1001, stale: true }),
      vmFixture({ vmid: 1002, sync_error: 'guest agent timeout' }),
      vmFixture({ vmid: 1003 }),
    ]);
    expect(filterVms(mixed, { ...DEFAULT_VIEW, stale: true }).map((r) => r.vm.vmid)).toEqual([1001]);
    expect(filterVms(mixed, { ...DEFAULT_VIEW, errors: true }).map((r) => r.vm.vmid)).toEqual([1002]);
  });
});

describe('sorting', () => {
  it('sorts by a column in either direction, ties by cluster and VMID', () => {
    const rows = indexVms(fleet);
    expect(sortVms(rows, 'name', 'asc').map((r) => r.vm.name)).toEqual(['db-01', 'web-01', 'win-ad']);
    expect(sortVms(rows, 'vmid', 'desc').map((r) => r.vm.vmid)).toEqual([205, 102, 101]);
    expect(sortVms(rows, 'status', 'asc').map((r) => r.vm.vmid)).toEqual([101, 205, 102]);
  });
});

describe('the view in the URL', () => {
  it('round-trips every setting and leaves defaults out', () => {
    const view = {
      ...DEFAULT_VIEW,
      q: 'web 01',
      cluster: 'lab-a',
      status: 'running',
      tag: 'exam',
      node: 'pve2',
      stale: true,
      errors: true,
      sort: 'cpu' as const,
      dir: 'desc' as const,
    };
    const params = serializeView(view);
    expect(parseView(new URLSearchParams(params.toString()))).toEqual(view);
    expect(serializeView(DEFAULT_VIEW).toString()).toBe('');
  });
  it('ignores unknown sort keys from a hand-edited link', () => {
    expect(parseView(new URLSearchParams('sort=evil&dir=sideways'))).toEqual(DEFAULT_VIEW);
  });
});

describe('stale clusters', () => {
  it('names each cluster with a stale VM once', () => {
    expect(
      staleClusters([
        vmFixture({ stale: true }),
        vmFixture({ vmid: 300, stale: true }),
        vmFixture({ vmid: 301, cluster_name: 'Lab B' }),
      ]),
    ).toEqual(['Lab A']);
  });
});

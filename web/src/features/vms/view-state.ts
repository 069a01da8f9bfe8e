import type { ApiVm, VmStatus } from '#shared/domain/vm-record.ts';

/**
 * The list view's state (search, filters, sort) and the client-side filtering it drives. The state
 * round-trips through the URL's query string so a view can be shared; filtering runs over a
 * precomputed lower-cased haystack per VM so a keystroke costs one `includes` per row.
 */

export const SORT_KEYS = [
  'name',
  'vmid',
  'status',
  'cluster',
  'node',
  'ip',
  'cpu',
  'memory',
  'uptime',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ViewState {
  readonly q: string;
  readonly cluster: string;
  readonly status: string;
  readonly tag: string;
  readonly node: string;
  /** Admin troubleshooting: only stale VMs / only VMs with a sync error. */
  readonly stale: boolean;
  readonly errors: boolean;
  readonly sort: SortKey;
  readonly dir: 'asc' | 'desc';
}

export const DEFAULT_VIEW: ViewState = {
  q: '',
  cluster: '',
  status: '',
  tag: '',
  node: '',
  stale: false,
  errors: false,
  sort: 'name',
  dir: 'asc',
};

const isSortKey = (value: string | null): value is SortKey => SORT_KEYS.some((k) => k === value);

/** Reads a view from a query string; unknown or bad values fall back to the defaults. */
export function parseView(params: URLSearchParams): ViewState {
  const sort = params.get('sort');
  return {
    q: params.get('q') ?? '',
    cluster: params.get('cluster') ?? '',
    status: params.get('status') ?? '',
    tag: params.get('tag') ?? '',
    node: params.get('node') ?? '',
    stale: params.get('stale') === '1',
    errors: params.get('errors') === '1',
    sort: isSortKey(sort) ? sort : DEFAULT_VIEW.sort,
    dir: params.get('dir') === 'desc' ? 'desc' : 'asc',
  };
}

/** Writes a view as a query string, leaving defaults out so links stay short. */
export function serializeView(view: ViewState): URLSearchParams {
  const params = new URLSearchParams();
  if (view.q !== '') params.set('q', view.q);
  if (view.cluster !== '') params.set('cluster', view.cluster);
  if (view.status !== '') params.set('status', view.status);
  if (view.tag !== '') params.set('tag', view.tag);
  if (view.node !== '') params.set('node', view.node);
  if (view.stale) params.set('stale', '1');
  if (view.errors) params.set('errors', '1');
  if (view.sort !== DEFAULT_VIEW.sort) params.set('sort', view.sort);
  if (view.dir !== DEFAULT_VIEW.dir) params.set('dir', view.dir);
  return params;
}

/** A VM with its search text precomputed. */
export interface IndexedVm {
  readonly vm: ApiVm;
  readonly key: string;
  readonly haystack: string;
}

/** A stable key of a VM across clusters. */
export const vmKey = (vm: Pick<ApiVm, 'cluster_id' | 'vmid'>): string => `${vm.cluster_id}/${vm.vmid}`;

/** Precomputes each VM's search text (name, IP, VMID, tags). Run once per data change. */
export function indexVms(vms: readonly ApiVm[]): IndexedVm[] {
  return vms.map((vm) => ({
    vm,
    key: vmKey(vm),
    haystack: [vm.name, vm.ip ?? '', String(vm.vmid), ...vm.tag_list].join('\u0000').toLowerCase(),
  }));
}

const compareText = (a: string, b: string) =>
  a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });

const STATUS_ORDER: Readonly<Partial<Record<VmStatus, number>>> = {
  running: 0,
  paused: 1,
  suspended: 2,
  stopped: 3,
  unknown: 4,
};

function compareBy(key: SortKey, a: ApiVm, b: ApiVm): number {
  switch (key) {
    case 'name':
      return compareText(a.name, b.name);
    case 'vmid':
      return a.vmid - b.vmid;
    case 'status':
      return (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9);
    case 'cluster':
      return compareText(a.cluster_name, b.cluster_name);
    case 'node':
      return compareText(a.node, b.node);
    case 'ip':
      return compareText(a.ip ?? '~', b.ip ?? '~');
    case 'cpu':
      return a.cpu_usage - b.cpu_usage;
    case 'memory':
      return a.memory_usage - b.memory_usage;
    case 'uptime':
      return a.uptime - b.uptime;
  }
}

/** Sorts once per data or sort change (ties by cluster and VMID, so the order is stable). */
export function sortVms(rows: readonly IndexedVm[], sort: SortKey, dir: 'asc' | 'desc'): IndexedVm[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort(
    (x, y) =>
      sign * compareBy(sort, x.vm, y.vm) ||
      compareText(x.vm.cluster_id, y.vm.cluster_id) ||
      x.vm.vmid - y.vm.vmid,
  );
}

/** The rows matching the search text and filters, in their given order. */
export function filterVms(rows: readonly IndexedVm[], view: ViewState): IndexedVm[] {
  const terms = view.q.toLowerCase().split(/\s+/).filter(Boolean);
  return rows.filter(({ vm, haystack }) => {
    if (view.cluster !== '' && vm.cluster_id !== view.cluster) return false;
    if (view.status !== '' && vm.status !== view.status) return false;
    if (view.tag !== '' && !vm.tag_list.includes(view.tag)) return false;
    if (view.node !== '' && vm.node !== view.node) return false;
    if (view.stale && !vm.stale) return false;
    if (view.errors && vm.sync_error === null) return false;
    for (const term of terms) if (!haystack.includes(term)) return false;
    return true;
  });
}

/** The values the filter menus offer, from the data itself. */
export function filterOptions(vms: readonly ApiVm[]) {
  const clusters = new Map<string, string>();
  const tags = new Set<string>();
  const nodes = new Set<string>();
  const statuses = new Set<string>();
  for (const vm of vms) {
    clusters.set(vm.cluster_id, vm.cluster_name);
    for (const tag of vm.tag_list) tags.add(tag);
    nodes.add(vm.node);
    statuses.add(vm.status);
  }
  return {
    clusters: [...clusters].map(([id, name]) => ({ id, name })).sort((a, b) => compareText(a.name, b.name)),
    tags: [...tags].sort(compareText),
    nodes: [...nodes].sort(compareText),
    statuses: [...statuses].sort(compareText),
  };
}

/** The clusters whose data is stale (by name), for the banner. */
export function staleClusters(vms: readonly ApiVm[]): string[] {
  const names = new Set<string>();
  for (const vm of vms) if (vm.stale) names.add(vm.cluster_name);
  return [...names].sort(compareText);
}

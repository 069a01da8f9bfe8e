import { useId, useMemo } from 'react';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { filterOptions, SORT_KEYS, type SortKey, type ViewState } from './view-state.ts';

const SORT_LABELS: Readonly<Record<SortKey, string>> = {
  name: 'Name',
  vmid: 'VMID',
  status: 'Status',
  cluster: 'Cluster',
  node: 'Node',
  ip: 'IP address',
  cpu: 'CPU use',
  memory: 'Memory use',
  uptime: 'Uptime',
};

/** Search box, filters and sort of a VM list; every change goes to the URL through `onChange`. */
export function VmFilters({
  vms,
  view,
  onChange,
  troubleshooting = false,
}: {
  vms: readonly ApiVm[];
  view: ViewState;
  onChange: (view: ViewState) => void;
  /** Admin filters: node, stale only, sync errors only. */
  troubleshooting?: boolean;
}) {
  const id = useId();
  const options = useMemo(() => filterOptions(vms), [vms]);
  const set = <K extends keyof ViewState>(key: K, value: ViewState[K]) => onChange({ ...view, [key]: value });
  return (
    <search className="filters">
      <div className="field field-wide">
        <label htmlFor={`${id}-q`}>Search</label>
        <input
          id={`${id}-q`}
          type="search"
          placeholder="Name, IP, VMID or tag"
          value={view.q}
          onChange={(event) => set('q', event.target.value)}
          autoComplete="off"
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-cluster`}>Cluster</label>
        <select id={`${id}-cluster`} value={view.cluster} onChange={(e) => set('cluster', e.target.value)}>
          <option value="">All clusters</option>
          {options.clusters.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-status`}>Status</label>
        <select id={`${id}-status`} value={view.status} onChange={(e) => set('status', e.target.value)}>
          <option value="">Any status</option>
          {options.statuses.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-tag`}>Tag</label>
        <select id={`${id}-tag`} value={view.tag} onChange={(e) => set('tag', e.target.value)}>
          <option value="">Any tag</option>
          {options.tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      {troubleshooting && (
        <>
          <div className="field">
            <label htmlFor={`${id}-node`}>Node</label>
            <select id={`${id}-node`} value={view.node} onChange={(e) => set('node', e.target.value)}>
              <option value="">Any node</option>
              {options.nodes.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
          <div className="field field-check">
            <input
              id={`${id}-stale`}
              type="checkbox"
              checked={view.stale}
              onChange={(e) => set('stale', e.target.checked)}
            />
            <label htmlFor={`${id}-stale`}>Stale only</label>
          </div>
          <div className="field field-check">
            <input
              id={`${id}-errors`}
              type="checkbox"
              checked={view.errors}
              onChange={(e) => set('errors', e.target.checked)}
            />
            <label htmlFor={`${id}-errors`}>With sync error</label>
          </div>
        </>
      )}
      <div className="field">
        <label htmlFor={`${id}-sort`}>Sort by</label>
        <select
          id={`${id}-sort`}
          value={view.sort}
          onChange={(e) => set('sort', SORT_KEYS.find((k) => k === e.target.value) ?? 'name')}
        >
          {SORT_KEYS.map((key) => (
            <option key={key} value={key}>
              {SORT_LABELS[key]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-dir`}>Order</label>
        <select
          id={`${id}-dir`}
          value={view.dir}
          onChange={(e) => set('dir', e.target.value === 'desc' ? 'desc' : 'asc')}
        >
          <option value="asc">Ascending</option>
          <option value="desc">Descending</option>
        </select>
      </div>
    </search>
  );
}

import { useCallback, useDeferredValue, useMemo, useState } from 'react';
import { TimeAgo } from '../../components/time-ago.tsx';
import { describeError } from '../../lib/api-client.ts';
import { useAuth } from '../../lib/auth.tsx';
import { useLocation, useSetSearch } from '../../lib/router.tsx';
import { BulkActionPanel } from '../lab-ops/bulk-action-panel.tsx';
import { IdleWarnings } from '../lab-ops/idle-warnings.tsx';
import { StaleBanner } from './stale-banner.tsx';
import { filterVms, indexVms, parseView, serializeView, sortVms, type ViewState } from './view-state.ts';
import { useVmList } from './vm-api.ts';
import { VmFilters } from './vm-filters.tsx';
import { VmGrid } from './vm-grid.tsx';

/** The newest status check among the VMs (when the inventory last heard from Proxmox). */
function newestCheck(vms: readonly { last_status_check: string | null }[]): string | null {
  let newest: string | null = null;
  for (const vm of vms) {
    if (vm.last_status_check !== null && (newest === null || vm.last_status_check > newest))
      newest = vm.last_status_check;
  }
  return newest;
}

/**
 * A VM list page: "My VMs" for everyone (the API returns what the caller may see) and "All VMs"
 * for admins with the troubleshooting filters. Search and filters run on the client over the
 * polled list and live in the URL.
 */
export function VmListPage({ title, troubleshooting = false }: { title: string; troubleshooting?: boolean }) {
  const { user } = useAuth();
  const { search } = useLocation();
  const setSearch = useSetSearch();
  const view = parseView(search);
  const deferredView = useDeferredValue(view);
  const query = useVmList();
  const [errors, setErrors] = useState<string[]>([]);
  const onError = useCallback((message: string) => setErrors((list) => [...list.slice(-2), message]), []);

  const vms = query.data?.vms;
  const sorted = useMemo(
    () => (vms === undefined ? [] : sortVms(indexVms(vms), deferredView.sort, deferredView.dir)),
    [vms, deferredView.sort, deferredView.dir],
  );
  const viewKey = serializeView(deferredView).toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: viewKey stands for deferredView's contents.
  const rows = useMemo(() => filterVms(sorted, deferredView), [sorted, viewKey]);
  const onChange = useCallback((next: ViewState) => setSearch(serializeView(next)), [setSearch]);

  return (
    <main aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">{title}</h1>
        {query.data !== undefined && (
          <p className="freshness">
            Updated <TimeAgo iso={newestCheck(query.data.vms)} />
            {query.mode === 'live' ? ' · live' : ''}
            {query.isFetching ? ' · refreshing' : ''}
          </p>
        )}
      </div>
      {errors.length > 0 && (
        <div className="banner banner-error" role="alert">
          <ul className="banner-list">
            {errors.map((message, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: messages may repeat; order is stable.
              <li key={index}>{message}</li>
            ))}
          </ul>
          <button type="button" className="secondary" onClick={() => setErrors([])}>
            Dismiss
          </button>
        </div>
      )}
      {query.isError && (
        <div className="banner banner-error" role="alert">
          {describeError(query.error)}
          {query.data !== undefined ? ' Showing the last list received.' : ''}
        </div>
      )}
      {vms !== undefined && <StaleBanner vms={vms} />}
      {vms !== undefined && <IdleWarnings vms={vms} />}
      {vms === undefined ? (
        query.isPending ? (
          <p>Loading VMs…</p>
        ) : null
      ) : (
        <>
          <VmFilters vms={vms} view={view} onChange={onChange} troubleshooting={troubleshooting} />
          {rows.length > 1 && <BulkActionPanel vms={rows.map((row) => row.vm)} />}
          <p className="count" aria-live="polite">
            {rows.length === vms.length ? `${vms.length} VMs` : `${rows.length} of ${vms.length} VMs`}
          </p>
          {vms.length === 0 ? (
            <p>No VMs are assigned to you yet. Ask your teacher or an administrator.</p>
          ) : rows.length === 0 ? (
            <p>No VM matches the search and filters.</p>
          ) : (
            <VmGrid rows={rows} username={user?.username ?? 'user'} label={title} onError={onError} />
          )}
        </>
      )}
    </main>
  );
}

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { SyncStatsResponseSchema, TriggerSyncResponseSchema } from '#shared/http/schemas/sync.ts';
import { describeError } from '../../lib/api-client.ts';
import { useApi, useNow } from '../../lib/api-context.tsx';
import { formatBackoff, formatUnixAge } from '../../lib/format.ts';

type SyncMode = 'quick' | 'full';
type SyncRequest = { mode: SyncMode; cluster_id?: string };

const MODES: readonly { mode: SyncMode; label: string }[] = [
  { mode: 'quick', label: 'Quick' },
  { mode: 'full', label: 'Full' },
];

/** "Quick" and "Full" sync buttons for one cluster, or for all clusters when `cluster` is absent. */
function SyncButtons({
  cluster,
  disabled,
  onSync,
}: {
  cluster?: { id: string; name: string };
  disabled: boolean;
  onSync: (request: SyncRequest) => void;
}) {
  return (
    <>
      {MODES.map(({ mode, label }) => (
        <button
          key={mode}
          type="button"
          className={cluster === undefined ? undefined : 'secondary'}
          disabled={disabled}
          aria-label={cluster === undefined ? undefined : `${label} sync ${cluster.name}`}
          onClick={() => onSync(cluster === undefined ? { mode } : { mode, cluster_id: cluster.id })}
        >
          {cluster === undefined ? `${label} sync all` : label}
        </button>
      ))}
    </>
  );
}

/**
 * Admin: per-cluster sync health from `/api/sync/stats` (last quick and full sync, consecutive
 * errors, backoff, last error, guests, fresh and failing VMs) with "sync now" through the trigger,
 * per cluster or for all.
 */
export function SyncHealthPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const now = useNow();
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const stats = useQuery({
    queryKey: ['sync-stats'],
    queryFn: ({ signal }) => api.get('/api/sync/stats', SyncStatsResponseSchema, signal),
    refetchInterval: 5000,
  });
  const trigger = useMutation({
    mutationFn: (input: SyncRequest) =>
      api.mutate('POST', '/api/sync/trigger', TriggerSyncResponseSchema, input),
    onSuccess: ({ data }) => {
      const scope = data.cluster_id === null ? 'all clusters' : data.cluster_id;
      setNotice({
        kind: 'ok',
        text: `${data.mode === 'full' ? 'Full' : 'Quick'} sync of ${scope} ${data.started ? 'started' : 'already running: joined it'}.`,
      });
    },
    onError: (error) =>
      setNotice({ kind: 'error', text: `Sync could not be started. ${describeError(error)}` }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['sync-stats'] }),
  });

  return (
    <main aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Sync health</h1>
        <div className="toolbar">
          <SyncButtons disabled={trigger.isPending} onSync={(request) => trigger.mutate(request)} />
        </div>
      </div>
      {notice !== null && (
        <p className={notice.kind === 'ok' ? 'banner banner-ok' : 'banner banner-error'} role="status">
          {notice.text}
        </p>
      )}
      {stats.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(stats.error)}
        </p>
      )}
      {stats.data !== undefined && (
        <>
          <p>
            {stats.data.total_vms} VMs, {stats.data.fresh_vms} fresh, {stats.data.error_vms} with sync errors.{' '}
            {stats.data.is_running
              ? 'Quick syncs are running on schedule.'
              : 'Quick syncs are behind schedule.'}
          </p>
          <div className="table-wrap">
            <table>
              <caption>Per cluster</caption>
              <thead>
                <tr>
                  <th scope="col">Cluster</th>
                  <th scope="col">Last quick sync</th>
                  <th scope="col">Last full sync</th>
                  <th scope="col">Consecutive errors</th>
                  <th scope="col">Backoff</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Guests</th>
                  <th scope="col">Fresh</th>
                  <th scope="col">Sync errors</th>
                  <th scope="col">Sync now</th>
                </tr>
              </thead>
              <tbody>
                {stats.data.clusters.map((cluster) => (
                  <tr
                    key={cluster.cluster_id}
                    className={cluster.consecutive_errors > 0 ? 'is-stale' : undefined}
                  >
                    <th scope="row">{cluster.cluster_name}</th>
                    <td>{formatUnixAge(cluster.last_quick_sync, now)}</td>
                    <td>{formatUnixAge(cluster.last_full_sync, now)}</td>
                    <td>{cluster.consecutive_errors}</td>
                    <td>{formatBackoff(cluster.backoff_until, now)}</td>
                    <td className="cell-error">
                      {cluster.last_error ? (
                        <span className="error-text">{cluster.last_error}</span>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td>{cluster.total_vms}</td>
                    <td>{cluster.fresh_vms}</td>
                    <td>{cluster.error_vms}</td>
                    <td>
                      <div className="cell-buttons">
                        <SyncButtons
                          cluster={{ id: cluster.cluster_id, name: cluster.cluster_name }}
                          disabled={trigger.isPending}
                          onSync={(request) => trigger.mutate(request)}
                        />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </main>
  );
}

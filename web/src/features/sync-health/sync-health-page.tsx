import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { SyncStatsResponseSchema, TriggerSyncResponseSchema } from '#shared/http/schemas/sync.ts';
import { describeError } from '../../lib/api-client.ts';
import { useApi, useNow } from '../../lib/api-context.tsx';
import { formatUnixAge } from '../../lib/format.ts';

/**
 * Admin: per-cluster sync health from `/api/sync/stats` (last quick and full sync, consecutive
 * errors, guests, fresh and failing VMs) with "sync now" through the trigger, per cluster or for all.
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
    mutationFn: (input: { mode: 'quick' | 'full'; cluster_id?: string }) =>
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
          <button
            type="button"
            disabled={trigger.isPending}
            onClick={() => trigger.mutate({ mode: 'quick' })}
          >
            Quick sync all
          </button>
          <button type="button" disabled={trigger.isPending} onClick={() => trigger.mutate({ mode: 'full' })}>
            Full sync all
          </button>
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
                    <td>{cluster.total_vms}</td>
                    <td>{cluster.fresh_vms}</td>
                    <td>{cluster.error_vms}</td>
                    <td className="cell-buttons">
                      <button
                        type="button"
                        className="secondary"
                        disabled={trigger.isPending}
                        aria-label={`Quick sync ${cluster.cluster_name}`}
                        onClick={() => trigger.mutate({ mode: 'quick', cluster_id: cluster.cluster_id })}
                      >
                        Quick
                      </button>
                      <button
                        type="button"
                        className="secondary"
                        disabled={trigger.isPending}
                        aria-label={`Full sync ${cluster.cluster_name}`}
                        onClick={() => trigger.mutate({ mode: 'full', cluster_id: cluster.cluster_id })}
                      >
                        Full
                      </button>
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

import { useQuery } from '@tanstack/react-query';
import type { HistoryRange, VmHistoryResponse } from '#shared/http/schemas/history.ts';
import { VmHistoryResponseSchema } from '#shared/http/schemas/history.ts';
import { useApi } from '../../lib/api-context.tsx';

/** The ranges the chart offers, with their labels. */
export const HISTORY_RANGE_LABELS: Readonly<Record<HistoryRange, string>> = {
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '14d': 'Last 14 days',
};

/** Refetch period of an open chart: a new minute bucket appears every minute. */
export const HISTORY_POLL_MS = 60_000;

/** One VM's history for a range, as server state keyed by what it fetches. */
export function useVmHistory(cluster: string, vmid: number, range: HistoryRange) {
  const api = useApi();
  return useQuery<VmHistoryResponse>({
    queryKey: ['vm-history', cluster, vmid, range],
    queryFn: ({ signal }) =>
      api.get(
        `/api/vms/${encodeURIComponent(cluster)}/${vmid}/history?range=${range}`,
        VmHistoryResponseSchema,
        signal,
      ),
    refetchInterval: HISTORY_POLL_MS,
  });
}

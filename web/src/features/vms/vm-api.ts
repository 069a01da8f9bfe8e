import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as z from 'zod';
import type { ApiVm, PendingAction } from '#shared/domain/vm-record.ts';
import { VmActionDoneResponseSchema, VmActionPendingResponseSchema } from '#shared/http/schemas/actions.ts';
import { type ListVmsResponse, ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import type { ApiClient, ConditionalResult } from '../../lib/api-client.ts';
import { useApi } from '../../lib/api-context.tsx';
import { vmKey } from './view-state.ts';

/**
 * The VM list as server state: polled with `If-None-Match` so an unchanged list costs a 304, every
 * page of a long list kept with its own ETag, and (TanStack Query's rule) never more than one
 * request in flight for the list. Faster polling while an action is pending, until the API
 * confirms it.
 */

export const VMS_QUERY_KEY = ['vms'] as const;

/** Poll period when nothing is pending, and while an action waits for confirmation. */
export const POLL_MS = 5000;
export const PENDING_POLL_MS = 1000;

interface CachedPage {
  readonly cursor: string | null;
  readonly etag: string | null;
  readonly response: ListVmsResponse;
}

/** What the list query holds: the VMs of every page, and the pages with their ETags. */
export interface VmListData {
  readonly vms: ApiVm[];
  readonly stale: boolean;
  readonly generatedAt: string;
  readonly pages: readonly CachedPage[];
}

/** Fetches all pages, conditionally where a page is cached; reuses the previous data on 304s. */
export async function fetchVmList(
  api: ApiClient,
  previous: VmListData | undefined,
  signal?: AbortSignal,
): Promise<VmListData> {
  const pages: CachedPage[] = [];
  let cursor: string | null = null;
  do {
    const cached: CachedPage | undefined = previous?.pages[pages.length];
    const usable: CachedPage | undefined =
      cached !== undefined && cached.cursor === cursor ? cached : undefined;
    const path: string = cursor === null ? '/api/vms' : `/api/vms?cursor=${encodeURIComponent(cursor)}`;
    const result: ConditionalResult<ListVmsResponse> = await api.getConditional(
      path,
      ListVmsResponseSchema,
      usable?.etag ?? null,
      signal,
    );
    const page: CachedPage | undefined = result.modified
      ? { cursor, etag: result.etag, response: result.data }
      : usable;
    if (page === undefined) throw new Error('304 without a cached page');
    pages.push(page);
    cursor = page.response.next_cursor;
  } while (cursor !== null);
  if (
    previous !== undefined &&
    pages.length === previous.pages.length &&
    pages.every((p, i) => p === previous.pages[i])
  ) {
    return previous;
  }
  const vms = pages.flatMap((p) => p.response.vms);
  return {
    vms,
    stale: pages.some((p) => p.response.stale),
    generatedAt: pages[0]?.response.generated_at ?? new Date().toISOString(),
    pages,
  };
}

/** The VM list query. */
export function useVmList() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: VMS_QUERY_KEY,
    queryFn: ({ signal }) => fetchVmList(api, queryClient.getQueryData<VmListData>(VMS_QUERY_KEY), signal),
    refetchInterval: (query) =>
      query.state.data?.vms.some((vm) => vm.pending_action !== null) ? PENDING_POLL_MS : POLL_MS,
    structuralSharing: false,
  });
}

function patchVm(queryClient: QueryClient, key: string, patch: Partial<ApiVm>): void {
  queryClient.setQueryData<VmListData>(VMS_QUERY_KEY, (data) => {
    if (data === undefined) return data;
    return { ...data, vms: data.vms.map((vm) => (vmKey(vm) === key ? { ...vm, ...patch } : vm)) };
  });
}

const ActionAnswerSchema = z.union([VmActionDoneResponseSchema, VmActionPendingResponseSchema]);

/** A power action on one VM: pending at once, confirmed by the answer (200) or by polling (202). */
export function usePowerAction(vm: ApiVm) {
  const api = useApi();
  const queryClient = useQueryClient();
  const key = vmKey(vm);
  return useMutation({
    mutationKey: ['power', key],
    mutationFn: (action: PendingAction) =>
      api.mutate(
        'POST',
        `/api/vm/${vm.vmid}/${action}?cluster=${encodeURIComponent(vm.cluster_id)}`,
        ActionAnswerSchema,
      ),
    onMutate: (action) => {
      const before = { pending_action: vm.pending_action, pending_since: vm.pending_since };
      patchVm(queryClient, key, { pending_action: action, pending_since: new Date().toISOString() });
      return before;
    },
    onError: (_error, _action, before) => {
      if (before !== undefined) patchVm(queryClient, key, before);
    },
    onSuccess: ({ data }) => {
      if ('status' in data)
        patchVm(queryClient, key, { status: data.status, pending_action: null, pending_since: null });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: VMS_QUERY_KEY }),
  });
}

import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import * as z from 'zod';
import type { ApiVm, PendingAction } from '#shared/domain/vm-record.ts';
import { VmActionDoneResponseSchema, VmActionPendingResponseSchema } from '#shared/http/schemas/actions.ts';
import { type ListVmsResponse, ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import type { LiveServerMessage, LiveVersions } from '#shared/live/protocol.ts';
import type { ApiClient, ConditionalResult } from '../../lib/api-client.ts';
import { type LiveSettings, useApi, useLiveSettings } from '../../lib/api-context.tsx';
import { applyLiveMessage, type LiveConnection, openLiveUpdates } from '../../lib/live.ts';
import { vmKey } from './view-state.ts';

/**
 * The VM list as server state: polled with `If-None-Match` so an unchanged list costs a 304, every
 * page of a long list kept with its own ETag, and (TanStack Query's rule) never more than one
 * request in flight for the list. Faster polling while an action is pending, until the API
 * confirms it. With live updates (runtime config `liveUrl`) the list is loaded once after the
 * socket's `hello` and then kept current from pushed deltas, with only a slow safety poll; when the
 * socket is unavailable or closes, the list polls again until a reconnect succeeds.
 */

export const VMS_QUERY_KEY = ['vms'] as const;

/** Poll period when nothing is pending, and while an action waits for confirmation. */
export const POLL_MS = 5000;
export const PENDING_POLL_MS = 1000;
/** While live: a safety-net poll only. */
export const LIVE_POLL_MS = 5 * 60_000;
/** How long the first load waits for the socket before it polls instead. */
export const LIVE_CONNECT_WAIT_MS = 3000;
/** Reconnect delays after a close (doubling, capped). */
export const LIVE_RETRY_MS = 1000;
export const LIVE_RETRY_MAX_MS = 30_000;
/** A fresh token is sent this long before the connection's token expires. */
export const LIVE_REAUTH_LEAD_MS = 60_000;

/** How the list stays current: waiting for the socket, pushed deltas, or polling. */
export type VmListMode = 'connecting' | 'live' | 'polling';

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

/** Applies one pushed message to the cached list: merged, or reloaded when only a reload can be trusted. */
function applyToCache(queryClient: QueryClient, message: LiveServerMessage): void {
  if (message.type !== 'delta' && message.type !== 'runtime' && message.type !== 'resync') return;
  const data = queryClient.getQueryData<VmListData>(VMS_QUERY_KEY);
  // Nothing loaded yet: the load to come reads after this change.
  if (data === undefined) return;
  const result = applyLiveMessage(data.vms, message);
  if (result === null) return;
  if (result !== 'reload') queryClient.setQueryData<VmListData>(VMS_QUERY_KEY, { ...data, vms: result });
  // A load in flight may have read before this change: it is replaced (one request in flight).
  if (result === 'reload' || queryClient.isFetching({ queryKey: VMS_QUERY_KEY }) > 0) {
    void queryClient.invalidateQueries({ queryKey: VMS_QUERY_KEY });
  }
}

/**
 * Keeps a live connection while the list is shown: hello (resuming with the versions seen after a
 * reconnect), deltas into the query cache, `resync` → reload, a fresh token before the old one
 * expires, reconnects with backoff. Returns how the list stays current.
 */
export function useLiveVmList(live: LiveSettings | null, queryClient: QueryClient): VmListMode {
  const url = live?.url ?? null;
  const [mode, setMode] = useState<VmListMode>(url === null ? 'polling' : 'connecting');
  const tokenRef = useRef(live?.token ?? '');
  const connectionRef = useRef<LiveConnection | null>(null);
  const token = live?.token ?? '';
  tokenRef.current = token;

  useEffect(() => {
    if (url === null) {
      setMode('polling');
      return;
    }
    setMode('connecting');
    let stopped = false;
    let retryMs = LIVE_RETRY_MS;
    let helloSeen = false;
    const versions: LiveVersions = {};
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const later = (ms: number, run: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, ms);
      timers.add(timer);
    };
    let reauthTimer: ReturnType<typeof setTimeout> | undefined;
    const scheduleReauth = (expiresAt: string) => {
      if (reauthTimer !== undefined) clearTimeout(reauthTimer);
      const wait = Math.max(0, Date.parse(expiresAt) - Date.now() - LIVE_REAUTH_LEAD_MS);
      reauthTimer = setTimeout(() => connectionRef.current?.reauth(tokenRef.current), wait);
    };
    const connect = () => {
      if (stopped) return;
      const resume = helloSeen;
      connectionRef.current = openLiveUpdates({
        url,
        token: tokenRef.current,
        versions,
        resume,
        onStatus: (connected) => {
          if (connected || stopped) return;
          connectionRef.current = null;
          if (reauthTimer !== undefined) clearTimeout(reauthTimer);
          setMode('polling');
          later(retryMs, connect);
          retryMs = Math.min(retryMs * 2, LIVE_RETRY_MAX_MS);
        },
        onMessage: (message) => {
          if (stopped) return;
          if (message.type === 'hello') {
            retryMs = LIVE_RETRY_MS;
            scheduleReauth(message.expires_at);
            // A fresh start over a list loaded while polling: changes in between are unknown.
            if (!resume && queryClient.getQueryData(VMS_QUERY_KEY) !== undefined) {
              void queryClient.invalidateQueries({ queryKey: VMS_QUERY_KEY });
            }
            helloSeen = true;
            setMode('live');
            return;
          }
          if (message.type === 'reauth') {
            scheduleReauth(message.expires_at);
            return;
          }
          applyToCache(queryClient, message);
        },
      });
    };
    connect();
    // A socket that neither opens nor fails must not hold the first load back.
    later(LIVE_CONNECT_WAIT_MS, () => setMode((current) => (current === 'connecting' ? 'polling' : current)));
    return () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      if (reauthTimer !== undefined) clearTimeout(reauthTimer);
      connectionRef.current?.close();
      connectionRef.current = null;
    };
  }, [url, queryClient]);

  // The session renewed the token: the open connection gets it at once.
  useEffect(() => {
    if (token !== '') connectionRef.current?.reauth(token);
  }, [token]);

  return mode;
}

/** The VM list query, with how it stays current. */
export function useVmList() {
  const api = useApi();
  const queryClient = useQueryClient();
  const mode = useLiveVmList(useLiveSettings(), queryClient);
  const query = useQuery({
    queryKey: VMS_QUERY_KEY,
    queryFn: ({ signal }) => fetchVmList(api, queryClient.getQueryData<VmListData>(VMS_QUERY_KEY), signal),
    // The first load waits for the socket's hello: every change after it arrives as a delta.
    enabled: mode !== 'connecting',
    refetchInterval: (query) =>
      mode === 'live'
        ? LIVE_POLL_MS
        : query.state.data?.vms.some((vm) => vm.pending_action !== null)
          ? PENDING_POLL_MS
          : POLL_MS,
    refetchOnWindowFocus: mode !== 'live',
    structuralSharing: false,
  });
  return Object.assign(query, { mode });
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

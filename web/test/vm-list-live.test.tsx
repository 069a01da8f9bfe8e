import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import type { LiveServerMessage } from '#shared/live/protocol.ts';
import { LIVE_RETRY_MS, POLL_MS } from '../src/features/vms/vm-api.ts';
import { VmListPage } from '../src/features/vms/vm-list-page.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider, LiveProvider } from '../src/lib/api-context.tsx';
import { AuthContextProvider } from '../src/lib/auth.tsx';
import { vmFixture } from './fixtures.ts';

/**
 * The VM list switching between live push and polling: loaded once after the socket's hello, kept
 * current from deltas without requests, polling again when the socket closes, and back to push
 * (resuming from the versions seen) when the reconnect succeeds. The socket is a stand-in the test
 * drives (jsdom has no server); the real socket runs in the browser test.
 */

class FakeSocket extends EventTarget {
  static instances: FakeSocket[] = [];
  readonly sent: unknown[] = [];
  readonly url: string;
  closed = false;
  constructor(url: string) {
    super();
    this.url = url;
    FakeSocket.instances.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.serverClose();
  }
  serverOpen(): void {
    this.dispatchEvent(new Event('open'));
  }
  serverSend(message: LiveServerMessage): void {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
  serverClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.dispatchEvent(new Event('close'));
  }
}

function fakeApi(vms: ApiVm[]) {
  const api = {
    vms,
    gets: 0,
    fetch: (async (input: RequestInfo | URL) => {
      const url = new URL(String(input));
      if (url.pathname !== '/api/vms') return new Response('{}', { status: 404 });
      api.gets += 1;
      const body = {
        vms: api.vms,
        is_admin: false,
        mode: 'inventory',
        stale: false,
        refresh: null,
        next_cursor: null,
        generated_at: '2026-12-07T10:00:00.000Z',
      };
      return new Response(JSON.stringify(body), { status: 200, headers: { etag: `"${api.gets}"` } });
    }) as typeof fetch,
  };
  return api;
}

const HELLO_EXPIRES = '2099-01-01T00:00:00.000Z';
const statusOf = (name: string) => {
  const row = screen.getByRole('row', { name: new RegExp(name) });
  return within(row);
};
const latest = () => {
  const socket = FakeSocket.instances.at(-1);
  if (socket === undefined) throw new Error('no socket opened');
  return socket;
};

beforeEach(() => {
  FakeSocket.instances = [];
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.useFakeTimers({ shouldAdvanceTime: true });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the VM list with live updates', () => {
  it('loads once after the hello, applies deltas without requests, polls while closed and resumes', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01' })]);
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const client = new ApiClient('http://api.test', () => 'token-1', api.fetch);
    const auth = { user: { username: 'alice', groups: [], accessToken: 'token-1' }, signOut: async () => {} };
    render(
      <QueryClientProvider client={queryClient}>
        <ApiProvider client={client}>
          <LiveProvider value={{ url: 'ws://api.test/ws', token: 'token-1' }}>
            <AuthContextProvider value={auth}>
              <VmListPage title="My VMs" />
            </AuthContextProvider>
          </LiveProvider>
        </ApiProvider>
      </QueryClientProvider>,
    );

    // The socket opens with the token; nothing is loaded before the server's hello.
    const first = latest();
    expect(first.url).toBe('ws://api.test/ws?token=token-1');
    act(() => first.serverOpen());
    expect(first.sent).toEqual([{ action: 'hello' }]);
    expect(api.gets).toBe(0);
    act(() => first.serverSend({ type: 'hello', versions: { 'lab-a': 7 }, expires_at: HELLO_EXPIRES }));
    await screen.findByRole('row', { name: /web-01/ });
    expect(await screen.findByText(/· live/)).toBeTruthy();
    expect(api.gets).toBe(1);

    // A pushed change reaches the row; no poll follows, however long the page stays open.
    act(() =>
      first.serverSend({
        type: 'delta',
        cluster: 'lab-a',
        version: 8,
        vms: [{ cluster_id: 'lab-a', vmid: 101, status: 'stopped' }],
        removed: [],
      }),
    );
    expect(await statusOf('web-01').findByText('stopped')).toBeTruthy();
    await act(async () => vi.advanceTimersByTimeAsync(3 * POLL_MS));
    expect(api.gets).toBe(1);

    // The socket closes: the list polls again and picks up a change the server holds.
    act(() => first.serverClose());
    api.vms = [vmFixture({ vmid: 101, name: 'web-01', status: 'paused' })];
    await act(async () => vi.advanceTimersByTimeAsync(POLL_MS + 100));
    expect(await statusOf('web-01').findByText('paused')).toBeTruthy();
    expect(api.gets).toBeGreaterThan(1);
    expect(screen.queryByText(/· live/)).toBeNull();

    // The reconnect resumes from the versions seen; back live, the polling stops.
    await act(async () => vi.advanceTimersByTimeAsync(LIVE_RETRY_MS));
    const second = latest();
    expect(second).not.toBe(first);
    act(() => second.serverOpen());
    expect(second.sent).toEqual([{ action: 'hello', versions: { 'lab-a': 8 } }]);
    act(() => second.serverSend({ type: 'hello', versions: { 'lab-a': 8 }, expires_at: HELLO_EXPIRES }));
    expect(await screen.findByText(/· live/)).toBeTruthy();
    const afterResume = api.gets;
    await act(async () => vi.advanceTimersByTimeAsync(3 * POLL_MS));
    expect(api.gets).toBe(afterResume);

    // A resync means: reload the list (one request).
    act(() => second.serverSend({ type: 'resync', cluster: 'lab-a', version: 9, reason: 'gap' }));
    await act(async () => vi.advanceTimersByTimeAsync(100));
    expect(api.gets).toBe(afterResume + 1);
  });

  it('polls when the socket cannot connect, and sends a renewed token on the open connection', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01' })]);
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const client = new ApiClient('http://api.test', () => 'token-1', api.fetch);
    const auth = { user: { username: 'alice', groups: [], accessToken: 'token-1' }, signOut: async () => {} };
    const page = (token: string) => (
      <QueryClientProvider client={queryClient}>
        <ApiProvider client={client}>
          <LiveProvider value={{ url: 'ws://api.test/ws', token }}>
            <AuthContextProvider value={auth}>
              <VmListPage title="My VMs" />
            </AuthContextProvider>
          </LiveProvider>
        </ApiProvider>
      </QueryClientProvider>
    );
    const view = render(page('token-1'));
    // Refused at once: the list loads by polling.
    act(() => latest().serverClose());
    await screen.findByRole('row', { name: /web-01/ });
    expect(api.gets).toBe(1);
    await act(async () => vi.advanceTimersByTimeAsync(POLL_MS + 100));
    expect(api.gets).toBeGreaterThan(1);

    // The retry connects: the list is reloaded once (changes while polling are not known by version).
    const retry = latest();
    act(() => retry.serverOpen());
    expect(retry.sent).toEqual([{ action: 'hello' }]);
    const before = api.gets;
    act(() => retry.serverSend({ type: 'hello', versions: {}, expires_at: HELLO_EXPIRES }));
    await act(async () => vi.advanceTimersByTimeAsync(100));
    expect(api.gets).toBe(before + 1);

    // The session renews its token: the connection gets it.
    view.rerender(page('token-2'));
    expect(retry.sent.at(-1)).toEqual({ action: 'reauth', token: 'token-2' });
  });
});

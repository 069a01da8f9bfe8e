import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { VmActionDoneResponseSchema, VmActionPendingResponseSchema } from '#shared/http/schemas/actions.ts';
import { VmListPage } from '../src/features/vms/vm-list-page.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';
import { AuthContextProvider } from '../src/lib/auth.tsx';
import { vmFixture } from './fixtures.ts';

/**
 * The VM list page against an in-memory API (the one fake: the browser tests drive the real
 * stack): search and filters narrow on the client and land in the URL, a power action shows
 * pending at once and the confirmed status after the answer, errors are shown in words, and the
 * list is fetched with If-None-Match.
 */

interface FakeApi {
  vms: ApiVm[];
  requests: { method: string; path: string; ifNoneMatch: string | null }[];
  actionAnswer: () => Promise<Response>;
  fetch: typeof fetch;
}

function fakeApi(vms: ApiVm[]): FakeApi {
  const api: FakeApi = {
    vms,
    requests: [],
    actionAnswer: async () => new Response('{}', { status: 500 }),
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const method = init?.method ?? 'GET';
      const ifNoneMatch = new Headers(init?.headers).get('if-none-match');
      api.requests.push({ method, path: `${url.pathname}${url.search}`, ifNoneMatch });
      if (method === 'GET' && url.pathname === '/api/vms') {
        const etag = `"${JSON.stringify(api.vms).length}-${api.vms.map((v) => v.status).join()}"`;
        if (ifNoneMatch === etag) return new Response(null, { status: 304 });
        const body = {
          vms: api.vms,
          is_admin: false,
          mode: 'inventory',
          stale: api.vms.some((v) => v.stale),
          refresh: null,
          next_cursor: null,
          generated_at: '2026-12-07T10:00:00.000Z',
        };
        return new Response(JSON.stringify(body), { status: 200, headers: { etag } });
      }
      return api.actionAnswer();
    },
  };
  return api;
}

function renderPage(api: FakeApi) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const client = new ApiClient('http://api.test', () => 'token', api.fetch);
  const auth = { user: { username: 'alice', groups: [], accessToken: 'token' }, signOut: async () => {} };
  return render(
    <QueryClientProvider client={queryClient}>
      <ApiProvider client={client}>
        <AuthContextProvider value={auth}>
          <VmListPage title="My VMs" />
        </AuthContextProvider>
      </ApiProvider>
    </QueryClientProvider>,
  );
}

const rowOf = (name: string) => {
  const cell = screen.getByText(name, { selector: '[role="cell"]' });
  const row = cell.closest('[role="row"]');
  if (!(row instanceof HTMLElement)) throw new Error(`no row for ${name}`);
  return row;
};

beforeEach(() => window.history.replaceState(null, '', '/'));
afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

describe('My VMs page', () => {
  it('lists every field of each VM the API returns', async () => {
    renderPage(fakeApi([vmFixture({ vmid: 101, name: 'web-01', tag_list: ['exam'], tags: 'exam' })]));
    const row = await screen.findByRole('row', { name: /web-01/ });
    for (const text of [
      'running',
      'web-01',
      '101',
      'Lab A',
      'linux',
      '10.0.0.10',
      '12.5 %',
      '40.0 %',
      '1 h 0 min',
      'exam',
    ]) {
      expect(within(row).getByText(text)).toBeTruthy();
    }
    expect(screen.getByText('1 VMs')).toBeTruthy();
  });

  it('narrows the list on every keystroke without a request, and keeps the search in the URL', async () => {
    const api = fakeApi([
      vmFixture({ vmid: 101, name: 'web-01' }),
      vmFixture({ vmid: 102, name: 'db-01', ip: '10.0.0.12' }),
      vmFixture({ vmid: 103, name: 'web-02' }),
    ]);
    renderPage(api);
    await screen.findByText('3 VMs');
    const before = api.requests.length;
    const user = userEvent.setup();
    await user.type(screen.getByRole('searchbox', { name: 'Search' }), 'web');
    expect(await screen.findByText('2 of 3 VMs')).toBeTruthy();
    expect(screen.queryByText('db-01')).toBeNull();
    expect(window.location.search).toBe('?q=web');
    await user.clear(screen.getByRole('searchbox', { name: 'Search' }));
    await user.type(screen.getByRole('searchbox', { name: 'Search' }), '10.0.0.12');
    expect(await screen.findByText('1 of 3 VMs')).toBeTruthy();
    expect(api.requests.slice(before).filter((r) => r.path.startsWith('/api/vms'))).toEqual([]);
  });

  it('starts from the view in the URL (a shared link)', async () => {
    window.history.replaceState(null, '', '/?status=stopped');
    renderPage(
      fakeApi([
        vmFixture({ vmid: 101, name: 'web-01' }),
        vmFixture({ vmid: 102, name: 'db-01', status: 'stopped' }),
      ]),
    );
    expect(await screen.findByText('1 of 2 VMs')).toBeTruthy();
    expect(screen.getByRole('combobox', { name: 'Status' })).toHaveProperty('value', 'stopped');
  });

  it('shows a power action as pending at once and the confirmed status when the API confirms it', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01', status: 'stopped' })]);
    let answer: (response: Response) => void = () => {};
    api.actionAnswer = () =>
      new Promise<Response>((resolve) => {
        answer = resolve;
      });
    renderPage(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Start web-01' }));
    expect(await within(rowOf('web-01')).findByRole('button', { name: 'Starting… web-01' })).toHaveProperty(
      'disabled',
      true,
    );
    expect(within(rowOf('web-01')).getByText('starting…')).toBeTruthy();
    expect(
      api.requests.some((r) => r.method === 'POST' && r.path === '/api/vm/101/start?cluster=lab-a'),
    ).toBe(true);

    api.vms = [vmFixture({ vmid: 101, name: 'web-01', status: 'running' })];
    await act(async () => {
      answer(
        new Response(
          JSON.stringify(
            VmActionDoneResponseSchema.parse({
              ok: true,
              unchanged: false,
              cluster_id: 'lab-a',
              vmid: 101,
              action: 'start',
              status: 'running',
              pending_action: null,
              upid: null,
            }),
          ),
          { status: 200 },
        ),
      );
    });
    const row = rowOf('web-01');
    expect(await within(row).findByText('running')).toBeTruthy();
    expect(within(row).getByRole('button', { name: 'Shut down web-01' })).toBeTruthy();
    await user.click(within(row).getByRole('button', { name: 'More actions for web-01' }));
    expect(within(row).getByRole('menuitem', { name: 'Force stop web-01' })).toBeTruthy();
  });

  it('offers a graceful shutdown, and asks before a force stop (declined: nothing is sent)', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01', status: 'running' })]);
    renderPage(api);
    const user = userEvent.setup();
    expect(await screen.findByRole('button', { name: 'Shut down web-01' })).toBeTruthy();
    const asked: string[] = [];
    const confirm = window.confirm;
    window.confirm = (question?: string) => {
      asked.push(question ?? '');
      return false;
    };
    try {
      await user.click(screen.getByRole('button', { name: 'More actions for web-01' }));
      await user.click(screen.getByRole('menuitem', { name: 'Force stop web-01' }));
    } finally {
      window.confirm = confirm;
    }
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/^Force stop web-01\? .*unsaved work/);
    expect(api.requests.some((r) => r.method === 'POST')).toBe(false);
  });

  it('keeps the row to one action button and reaches the others by keyboard through the More menu', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01', status: 'running' })]);
    let answer: (response: Response) => void = () => {};
    api.actionAnswer = () =>
      new Promise<Response>((resolve) => {
        answer = resolve;
      });
    renderPage(api);
    const user = userEvent.setup();
    await screen.findByRole('button', { name: 'Shut down web-01' });
    const row = rowOf('web-01');
    expect(within(row).queryByRole('button', { name: 'Reboot web-01' })).toBeNull();
    const more = within(row).getByRole('button', { name: 'More actions for web-01' });
    expect(more.getAttribute('aria-expanded')).toBe('false');

    more.focus();
    await user.keyboard('{ArrowDown}');
    expect(more.getAttribute('aria-expanded')).toBe('true');
    expect(
      within(row)
        .getAllByRole('menuitem')
        .map((item) => item.getAttribute('aria-label')),
    ).toEqual(['Reboot web-01', 'Force stop web-01']);
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Reboot web-01');
    await user.keyboard('{ArrowDown}');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Force stop web-01');
    await user.keyboard('{ArrowDown}');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Reboot web-01');
    await user.keyboard('{Escape}');
    expect(within(row).queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(more);

    await user.keyboard('{Enter}');
    await user.keyboard('{Enter}');
    expect(within(row).queryByRole('menu')).toBeNull();
    expect(
      api.requests.some((r) => r.method === 'POST' && r.path === '/api/vm/101/reboot?cluster=lab-a'),
    ).toBe(true);
    expect(await within(row).findByRole('button', { name: 'Rebooting… web-01' })).toHaveProperty(
      'disabled',
      true,
    );
    await act(async () => answer(new Response('{}', { status: 500 })));
  });

  it('keeps the pending state after a 202 until polling shows the confirmed status', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01', status: 'stopped' })]);
    api.actionAnswer = async () => {
      api.vms = [
        vmFixture({
          vmid: 101,
          name: 'web-01',
          status: 'stopped',
          pending_action: 'start',
          pending_since: '2026-12-07T10:00:01.000Z',
        }),
      ];
      return new Response(
        JSON.stringify(
          VmActionPendingResponseSchema.parse({
            ok: true,
            cluster_id: 'lab-a',
            vmid: 101,
            action: 'start',
            pending_action: 'start',
            upid: null,
          }),
        ),
        { status: 202 },
      );
    };
    renderPage(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Start web-01' }));
    expect(await within(rowOf('web-01')).findByText('starting…')).toBeTruthy();
    api.vms = [vmFixture({ vmid: 101, name: 'web-01', status: 'running' })];
    expect(await within(rowOf('web-01')).findByText('running', {}, { timeout: 4000 })).toBeTruthy();
  });

  it('explains a refused action in words and rolls the row back', async () => {
    const api = fakeApi([vmFixture({ vmid: 101, name: 'web-01', status: 'stopped' })]);
    api.actionAnswer = async () =>
      new Response(JSON.stringify({ error: { code: 'proxmox_unavailable', message: 'upstream' } }), {
        status: 502,
      });
    renderPage(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Start web-01' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('web-01: Start failed. Proxmox is unavailable right now');
    expect(alert.textContent).not.toContain('upstream');
    expect(await within(rowOf('web-01')).findByText('stopped')).toBeTruthy();
  });

  it('polls with If-None-Match after the first answer', async () => {
    const api = fakeApi([vmFixture()]);
    renderPage(api);
    await screen.findByText('1 VMs');
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5500));
    });
    const lists = api.requests.filter((r) => r.path === '/api/vms');
    expect(lists.length).toBeGreaterThanOrEqual(2);
    expect(lists[0]?.ifNoneMatch).toBeNull();
    expect(lists[1]?.ifNoneMatch).toMatch(/^"/);
  }, 10_000);
});

describe('stale banner', () => {
  it('names the clusters whose data is stale, and is absent when all is fresh', async () => {
    const api = fakeApi([
      vmFixture({ vmid: 101, name: 'web-01', stale: true, cluster_name: 'Lab A' }),
      vmFixture({ vmid: 201, name: 'db-01', cluster_id: 'lab-b', cluster_name: 'Lab B' }),
    ]);
    renderPage(api);
    const banner = await screen.findByText(/Stale data/);
    expect(banner.parentElement?.textContent).toContain('cluster Lab A');
    expect(banner.parentElement?.textContent).not.toContain('Lab B');
    expect(banner.parentElement?.textContent).toContain('1 VM shows the last known state');
  });
  it('is not shown when every VM is fresh', async () => {
    renderPage(fakeApi([vmFixture()]));
    await screen.findByText('1 VMs');
    expect(screen.queryByText(/Stale data/)).toBeNull();
  });
});

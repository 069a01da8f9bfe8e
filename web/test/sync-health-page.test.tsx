import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';
import { SyncHealthPage } from '../src/features/sync-health/sync-health-page.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';
import { formatBackoff } from '../src/lib/format.ts';

/** The admin's sync health page: per-cluster backoff and last error, and "sync now" per scope. */

const nowSeconds = () => Math.floor(Date.now() / 1000);

function stats() {
  const cluster = {
    total_vms: 40,
    fresh_vms: 40,
    error_vms: 0,
    running_vms: 20,
    last_full_sync: nowSeconds() - 600,
    last_quick_sync: nowSeconds() - 5,
    consecutive_errors: 0,
    last_error: null,
    backoff_until: null,
  };
  return SyncStatsResponseSchema.parse({
    total_vms: 80,
    fresh_vms: 40,
    error_vms: 40,
    running_vms: 40,
    last_full_sync: nowSeconds() - 600,
    last_quick_sync: nowSeconds() - 5,
    consecutive_errors: 3,
    is_running: false,
    not_running_reason: 'lab-b has no recent quick sync',
    clusters: [
      { ...cluster, cluster_id: 'lab-a', cluster_name: 'Lab A' },
      {
        ...cluster,
        cluster_id: 'lab-b',
        cluster_name: 'Lab B',
        fresh_vms: 0,
        error_vms: 40,
        consecutive_errors: 3,
        last_error: 'Proxmox answered 595 (connection refused) on pve1',
        backoff_until: nowSeconds() + 150,
      },
    ],
  });
}

function renderPage() {
  const posts: unknown[] = [];
  const fetchImpl: typeof fetch = async (_input, init) => {
    if ((init?.method ?? 'GET') === 'GET') return new Response(JSON.stringify(stats()), { status: 200 });
    const body = JSON.parse(String(init?.body)) as { mode: 'quick' | 'full'; cluster_id?: string };
    posts.push(body);
    return new Response(
      JSON.stringify({
        ok: true,
        execution_name: 'x',
        execution_arn: null,
        mode: body.mode,
        cluster_id: body.cluster_id ?? null,
        started: true,
        clusters: [],
      }),
      { status: 202 },
    );
  };
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ApiProvider client={new ApiClient('http://api.test', () => 'token', fetchImpl)}>
        <SyncHealthPage />
      </ApiProvider>
    </QueryClientProvider>,
  );
  return posts;
}

afterEach(cleanup);

describe('sync backoff wording', () => {
  it('says how long a backoff still lasts, and none when it ended or never began', () => {
    const now = 1_000_000_000_000;
    expect(formatBackoff(null, now)).toBe('none');
    expect(formatBackoff(undefined, now)).toBe('none');
    expect(formatBackoff(now / 1000 - 1, now)).toBe('none');
    expect(formatBackoff(now / 1000 + 42, now)).toBe('for 42 s');
    expect(formatBackoff(now / 1000 + 150, now)).toBe('for 3 min');
    expect(formatBackoff(now / 1000 + 3 * 3600, now)).toBe('for 3 h');
  });
});

describe('Sync health page', () => {
  it('shows consecutive errors, backoff and the last error per cluster', async () => {
    renderPage();
    const row = await screen.findByRole('row', { name: /^Lab B/ });
    const headers = screen.getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual([
      'Cluster',
      'Last quick sync',
      'Last full sync',
      'Consecutive errors',
      'Backoff',
      'Last error',
      'Guests',
      'Fresh',
      'Sync errors',
      'Sync now',
    ]);
    const cells = within(row)
      .getAllByRole('cell')
      .map((c) => c.textContent);
    expect(cells.slice(2, 5)).toEqual([
      '3',
      'for 3 min',
      'Proxmox answered 595 (connection refused) on pve1',
    ]);
    const healthy = within(screen.getByRole('row', { name: /^Lab A/ }))
      .getAllByRole('cell')
      .map((c) => c.textContent);
    expect(healthy.slice(2, 5)).toEqual(['0', 'none', 'none']);
  });

  it('starts a sync for all clusters or for one, in the chosen mode', async () => {
    const posts = renderPage();
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Full sync all' }));
    expect(await screen.findByText('Full sync of all clusters started.')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Quick sync Lab B' }));
    expect(await screen.findByText('Quick sync of lab-b started.')).toBeTruthy();
    expect(posts).toEqual([{ mode: 'full' }, { mode: 'quick', cluster_id: 'lab-b' }]);
  });
});

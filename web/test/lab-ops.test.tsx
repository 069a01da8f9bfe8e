import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { BulkActionResponse } from '#shared/http/schemas/bulk.ts';
import { BulkActionPanel } from '../src/features/lab-ops/bulk-action-panel.tsx';
import { IdleWarnings } from '../src/features/lab-ops/idle-warnings.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';
import { vmFixture } from './fixtures.ts';

/**
 * The lab-operations parts of the portal against an in-memory API: the idle warning and its
 * "Keep running" button, and a bulk action on VMs picked from the list with its per-VM result.
 */

interface Sent {
  method: string;
  path: string;
  body: unknown;
}

function withApi(answer: (sent: Sent) => Response, sent: Sent[], children: ReactNode) {
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const request = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    sent.push(request);
    return answer(request);
  };
  const client = new ApiClient('http://api.test', () => 'token', fetchImpl);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={queryClient}>
      <ApiProvider client={client}>{children}</ApiProvider>
    </QueryClientProvider>,
  );
}

afterEach(() => cleanup());

describe('idle warnings', () => {
  it('shows when an idle VM will be shut down and keeps it running on request', async () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    const sent: Sent[] = [];
    withApi(
      () =>
        new Response(
          JSON.stringify({
            ok: true,
            cluster_id: 'lab-a',
            vmid: 101,
            idle_reset_at: '2026-12-07T10:00:01.000Z',
            idle_shutdown_at: null,
          }),
          { status: 200 },
        ),
      sent,
      <IdleWarnings
        now={now}
        vms={[
          vmFixture({ vmid: 101, name: 'web-01', idle_shutdown_at: '2026-12-07T10:08:00.000Z' }),
          vmFixture({ vmid: 102, name: 'db-01', idle_shutdown_at: null }),
        ]}
      />,
    );
    expect(screen.getByRole('alert').textContent).toContain(
      'web-01 has been idle and will be shut down in 8 min',
    );
    expect(screen.queryByText(/db-01/)).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Keep web-01 running' }));
    expect(sent).toContainEqual({ method: 'POST', path: '/api/vms/lab-a/101/keep-running', body: undefined });
  });
});

describe('bulk action panel', () => {
  it('sends the picked VMs and shows what became of each', async () => {
    const sent: Sent[] = [];
    const answer: BulkActionResponse = {
      ok: true,
      bulk_id: '0c6e8e0a-6f5e-4b43',
      action: 'start',
      class_id: null,
      created_at: '2026-12-07T10:00:00.000Z',
      finished: true,
      counts: { done: 1, pending: 0, refused: 1, failed: 0 },
      results: [
        {
          cluster_id: 'lab-a',
          vmid: 101,
          outcome: 'done',
          status: 'running',
          upid: 'UPID:x',
          error_code: null,
          reason: null,
        },
        {
          cluster_id: 'lab-a',
          vmid: 102,
          outcome: 'refused',
          status: null,
          upid: null,
          error_code: 'action_pending',
          reason: 'Another action (stop) is still pending on this VM',
        },
      ],
    };
    withApi(
      () => new Response(JSON.stringify(answer), { status: 200 }),
      sent,
      <BulkActionPanel
        vms={[
          vmFixture({ vmid: 101, name: 'web-01', status: 'stopped' }),
          vmFixture({ vmid: 102, name: 'db-01', status: 'stopped' }),
          vmFixture({ vmid: 103, name: 'tpl', is_template: true }),
        ]}
      />,
    );
    await userEvent.click(screen.getByText('Act on several VMs'));
    await userEvent.click(screen.getByRole('button', { name: 'Select all 2 shown' }));
    await userEvent.click(screen.getByRole('button', { name: 'Apply to 2 VMs' }));
    expect(sent).toContainEqual({
      method: 'POST',
      path: '/api/bulk-actions',
      body: {
        action: 'start',
        vms: [
          { cluster_id: 'lab-a', vmid: 101 },
          { cluster_id: 'lab-a', vmid: 102 },
        ],
      },
    });
    const status = await screen.findByRole('status');
    expect(status.textContent).toContain('start: 1 done, 1 refused');
    expect(status.textContent).toContain(
      'lab-a/102: refused (Another action (stop) is still pending on this VM)',
    );
  });
});

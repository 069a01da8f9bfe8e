import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { VmHistoryResponse } from '#shared/http/schemas/history.ts';
import { seriesPaths, summarizeSeries, VmHistoryButton } from '../src/features/vms/vm-history.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';

/**
 * The VM history dialog against an in-memory API: opened from the row's CPU value, it asks for
 * the chosen range, draws CPU and memory, says their average and peak in words, and shows its
 * empty and error states in words.
 */

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const minute = (n: number) => new Date(T0 + n * 60_000).toISOString();

function historyOf(range: '1h' | '24h' | '14d', samples: VmHistoryResponse['samples']): VmHistoryResponse {
  return {
    cluster_id: 'lab-a',
    vmid: 101,
    range,
    resolution_seconds: range === '14d' ? 900 : 60,
    from: minute(0),
    to: minute(60),
    samples,
    sync_error: null,
  };
}

function renderButton(answer: (path: string) => Response) {
  const requests: string[] = [];
  const fetchFake: typeof fetch = async (input) => {
    const url = new URL(String(input));
    requests.push(`${url.pathname}${url.search}`);
    return answer(`${url.pathname}${url.search}`);
  };
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={queryClient}>
      <ApiProvider client={new ApiClient('http://api.test', () => 'token', fetchFake)}>
        <VmHistoryButton vm={{ cluster_id: 'lab-a', vmid: 101, name: 'web-01' }}>12.5 %</VmHistoryButton>
      </ApiProvider>
    </QueryClientProvider>,
  );
  return requests;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => cleanup());

describe('VM history dialog', () => {
  it('opens from the CPU value and describes the last hour of CPU and memory', async () => {
    const requests = renderButton(() =>
      json(
        historyOf('1h', [
          { t: minute(1), cpu_avg: 10, cpu_max: 30, mem_avg: 40, mem_max: 42 },
          { t: minute(2), cpu_avg: 20, cpu_max: 25, mem_avg: 50, mem_max: 55 },
        ]),
      ),
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'CPU and memory history of web-01' }));
    const dialog = screen.getByRole('dialog', { name: 'History of web-01' });
    const chart = await within(dialog).findByRole('img', { name: /CPU and memory use of web-01, last hour/ });
    expect(chart.getAttribute('aria-label')).toContain(
      'CPU average 15.0 %, peak 30.0 %; memory average 45.0 %, peak 55.0 %',
    );
    expect(chart.querySelectorAll('polyline')).toHaveLength(3);
    expect(requests).toEqual(['/api/vms/lab-a/101/history?range=1h']);
    expect((within(dialog).getByRole('radio', { name: 'Last hour' }) as HTMLInputElement).checked).toBe(true);
  });

  it('asks for the range the user picks', async () => {
    const requests = renderButton((path) =>
      json(
        historyOf(path.endsWith('14d') ? '14d' : '1h', [
          { t: minute(0), cpu_avg: 1, cpu_max: 2, mem_avg: 3, mem_max: 4 },
        ]),
      ),
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /history of web-01/ }));
    await screen.findByRole('img', { name: /last hour/ });
    await user.click(screen.getByRole('radio', { name: 'Last 14 days' }));
    await screen.findByRole('img', { name: /last 14 days/ });
    expect(requests).toEqual(['/api/vms/lab-a/101/history?range=1h', '/api/vms/lab-a/101/history?range=14d']);
    expect(screen.getByText(/15 minutes/)).toBeTruthy();
  });

  it('says when there is no history, and why the cluster may have none', async () => {
    renderButton(() => json({ ...historyOf('1h', []), sync_error: 'The last sync could not read this VM.' }));
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /history of web-01/ }));
    expect(await screen.findByText(/No history for last hour/)).toBeTruthy();
    expect(screen.getByText(/sync is failing: The last sync could not read this VM\./)).toBeTruthy();
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('shows a failed request in words and closes with Escape', async () => {
    renderButton(() => json({ error: { code: 'not_found', message: 'VM not found' } }, 404));
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /history of web-01/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Could not load the history/);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});

describe('chart geometry', () => {
  const s = (n: number, cpu: number) => ({
    t: minute(n),
    cpu_avg: cpu,
    cpu_max: cpu,
    mem_avg: 0,
    mem_max: 0,
  });

  it('breaks a line where buckets are missing, draws a lone bucket across its width, scales 0–100 % to the height', () => {
    const paths = seriesPaths([s(0, 0), s(1, 100), s(5, 50)], (x) => x.cpu_avg, T0, T0 + 10 * 60_000, 60_000);
    expect(paths).toEqual(['0.0,120.0 48.0,0.0', '240.0,60.0 288.0,60.0']);
  });

  it('summarizes the averages and the peak of the maxima', () => {
    expect(
      summarizeSeries(
        [s(0, 10), s(1, 30)],
        (x) => x.cpu_avg,
        (x) => x.cpu_max,
      ),
    ).toEqual({ avg: 20, peak: 30 });
    expect(
      summarizeSeries(
        [],
        (x) => x.cpu_avg,
        (x) => x.cpu_max,
      ),
    ).toBeNull();
  });
});

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { AssignmentResponseItem } from '#shared/http/schemas/ownership.ts';
import { AssignmentsPage, parseAssignmentInput } from '../src/features/assignments/assignments-page.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';

/** The admin's assignments page against an in-memory API shaped like the assignment routes. */

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

function assignment(overrides: Partial<AssignmentResponseItem>): AssignmentResponseItem {
  return {
    username: 'alice',
    cluster_id: 'lab-a',
    vmid: 101,
    source: 'admin',
    class_id: null,
    suspended: false,
    created_at: '2026-12-01T10:00:00.000Z',
    ...overrides,
  };
}

function fakeAssignmentsApi(initial: AssignmentResponseItem[]) {
  const state = {
    rows: initial,
    requests: [] as string[],
    putAnswer: null as Response | null,
  };
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    state.requests.push(`${method} ${url.pathname}${url.search}${init?.body ? ` ${String(init.body)}` : ''}`);
    const q = url.searchParams;
    if (method === 'GET') {
      const rows = state.rows.filter((a) => !q.has('username') || a.username === q.get('username'));
      const start = Number(q.get('cursor') ?? 0);
      const limit = Number(q.get('limit'));
      return json({
        assignments: rows.slice(start, start + limit),
        next_cursor: start + limit < rows.length ? String(start + limit) : null,
      });
    }
    if (method === 'PUT') {
      if (state.putAnswer !== null) return state.putAnswer;
      const body = JSON.parse(String(init?.body)) as { username: string; cluster_id: string; vmid: number };
      const row = assignment(body);
      state.rows = [...state.rows, row];
      return json(row);
    }
    state.rows = state.rows.filter(
      (a) =>
        !(
          a.username === q.get('username') &&
          a.cluster_id === q.get('cluster') &&
          String(a.vmid) === q.get('vmid')
        ),
    );
    return new Response(null, { status: 204 });
  };
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ApiProvider client={new ApiClient('http://api.test', () => 'token', fetchImpl)}>
        <AssignmentsPage />
      </ApiProvider>
    </QueryClientProvider>,
  );
  return state;
}

afterEach(cleanup);

describe('assignment form input', () => {
  it('accepts a username, cluster id and VMID, and names what is wrong otherwise', () => {
    expect(parseAssignmentInput({ username: ' alice ', cluster: 'lab-a', vmid: '101' })).toEqual({
      ok: true,
      body: { username: 'alice', cluster_id: 'lab-a', vmid: 101 },
    });
    expect(parseAssignmentInput({ username: 'a b', cluster: 'lab-a', vmid: '101' })).toEqual({
      ok: false,
      reason: 'Enter a username (no spaces or slashes).',
    });
    expect(parseAssignmentInput({ username: 'alice', cluster: 'Lab A', vmid: '101' }).ok).toBe(false);
    expect(parseAssignmentInput({ username: 'alice', cluster: 'lab-a', vmid: '99' }).ok).toBe(false);
    expect(parseAssignmentInput({ username: 'alice', cluster: 'lab-a', vmid: '1e3' }).ok).toBe(false);
  });
});

describe('Assignments page', () => {
  it('lists assignments a page at a time; class assignments are changed through their class', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => assignment({ username: `u${i}`, vmid: 100 + i }));
    rows[0] = assignment({ username: 'u0', source: 'class', class_id: 'net-101', suspended: true });
    const api = fakeAssignmentsApi(rows);
    const user = userEvent.setup();
    expect(await screen.findByText('100 assignments (more to load)')).toBeTruthy();
    const first = screen.getByRole('row', { name: /^u0 / });
    expect(within(first).getByText('via its class')).toBeTruthy();
    expect(within(first).getByText('yes (guest removed)')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByText('120 assignments')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(api.requests).toEqual([
      'GET /api/assignments?limit=100',
      'GET /api/assignments?limit=100&cursor=100',
    ]);
  });

  it('assigns a VM and, after asking, removes an assignment', async () => {
    const api = fakeAssignmentsApi([assignment({})]);
    const user = userEvent.setup();
    await screen.findByText('1 assignments');
    const form = screen.getByRole('form', { name: 'Assign a VM' });
    await user.type(within(form).getByLabelText('Username'), 'bob');
    await user.type(within(form).getByLabelText('Cluster id'), 'lab-b');
    await user.type(within(form).getByLabelText('VMID'), '202');
    await user.click(within(form).getByRole('button', { name: 'Assign' }));
    expect(await screen.findByText('Assigned: bob → lab-b/202.')).toBeTruthy();
    expect(api.requests).toContain('PUT /api/assignments {"username":"bob","cluster_id":"lab-b","vmid":202}');
    expect(await screen.findByText('2 assignments')).toBeTruthy();

    const original = window.confirm;
    const asked: string[] = [];
    window.confirm = (question?: string) => {
      asked.push(question ?? '');
      return true;
    };
    try {
      await user.click(screen.getByRole('button', { name: 'Remove alice → lab-a/101' }));
    } finally {
      window.confirm = original;
    }
    expect(asked).toEqual(['Remove the assignment alice → lab-a/101? alice no longer sees this VM.']);
    expect(await screen.findByText('Removed: alice → lab-a/101.')).toBeTruthy();
    expect(api.requests).toContain('DELETE /api/assignments?username=alice&cluster=lab-a&vmid=101');
    expect(await screen.findByText('1 assignments')).toBeTruthy();
  });

  it('filters by user on the server', async () => {
    const api = fakeAssignmentsApi([assignment({}), assignment({ username: 'bob', vmid: 102 })]);
    const user = userEvent.setup();
    await screen.findByText('2 assignments');
    await user.type(screen.getByLabelText('User'), 'bob');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    expect(await screen.findByText('1 assignments')).toBeTruthy();
    expect(api.requests).toContain('GET /api/assignments?limit=100&username=bob');
  });

  it("shows the API's refusal in words", async () => {
    const api = fakeAssignmentsApi([]);
    api.putAnswer = json({ error: { code: 'not_found', message: 'VM not found' } }, 404);
    const user = userEvent.setup();
    await screen.findByText('0 assignments');
    await user.type(screen.getByLabelText('Username'), 'bob');
    await user.type(screen.getByLabelText('Cluster id'), 'lab-b');
    await user.type(screen.getByLabelText('VMID'), '999');
    await user.click(screen.getByRole('button', { name: 'Assign' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'bob → lab-b/999 could not be assigned. No such VM in the inventory.',
    );
  });
});

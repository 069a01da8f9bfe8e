import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClassResponse, ClassResponseSchema } from '#shared/http/schemas/ownership.ts';
import { classMembers } from '../src/features/classes/class-members.tsx';
import { classPowers, withClass, withoutClass } from '../src/features/classes/classes-api.ts';
import { ClassesPage, parseUsernames } from '../src/features/classes/classes-page.tsx';
import { VMS_QUERY_KEY, type VmListData } from '../src/features/vms/vm-api.ts';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';
import { AuthContextProvider } from '../src/lib/auth.tsx';

/**
 * The classes page against an in-memory API that answers like the class routes (the browser tests
 * drive the real stack): what admins and teachers may change, the requests each change sends, the
 * confirmation before a removal, and errors in words.
 */

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const apiError = (status: number, code: string, message: string, details?: unknown[]) =>
  json({ error: { code, message, ...(details ? { details } : {}) } }, status);

function classFixture(overrides: Partial<ClassResponse> = {}): ClassResponse {
  return ClassResponseSchema.parse({
    class_id: 'net-101-aaaaaa',
    name: 'Networking 101',
    description: null,
    created_at: '2026-12-07T10:00:00.000Z',
    owner: 'carol',
    teachers: ['carol', 'dave'],
    students: ['alice'],
    vms: [{ cluster_id: 'lab-a', vmid: 101, student: 'alice', suspended: false }],
    ...overrides,
  });
}

interface FakeClassesApi {
  classes: ClassResponse[];
  requests: { method: string; path: string; body: unknown }[];
  /** Answers a write instead of the in-memory store (to produce an error). */
  override: ((method: string, path: string) => Response | null) | null;
  fetch: typeof fetch;
}

function fakeClassesApi(classes: ClassResponse[]): FakeClassesApi {
  const api: FakeClassesApi = {
    classes,
    requests: [],
    override: null,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const method = init?.method ?? 'GET';
      const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : null;
      const path = decodeURIComponent(url.pathname);
      if (method !== 'GET') api.requests.push({ method, path, body });
      const overridden = api.override?.(method, path) ?? null;
      if (overridden !== null) return overridden;
      if (method === 'GET' && path === '/api/classes') return json({ classes: api.classes });
      if (method === 'POST' && path === '/api/classes') {
        const input = body as { name: string; description: string | null; teachers?: string[] };
        const created = classFixture({
          class_id: 'new-class-bbbbbb',
          name: input.name,
          description: input.description,
          owner: input.teachers?.[0] ?? null,
          teachers: input.teachers ?? [],
          students: [],
          vms: [],
        });
        api.classes = [...api.classes, created];
        return json(created, 201);
      }
      const [, , , classId, part, a, b] = path.split('/');
      const cls = api.classes.find((c) => c.class_id === classId);
      if (cls === undefined) return apiError(404, 'not_found', 'Class not found');
      const save = (next: ClassResponse) => {
        api.classes = api.classes.map((c) => (c.class_id === next.class_id ? next : c));
        return json(next);
      };
      if (part === undefined && method === 'DELETE') {
        api.classes = api.classes.filter((c) => c !== cls);
        return new Response(null, { status: 204 });
      }
      if (part === undefined && method === 'PUT') return save({ ...cls, ...(body as object) });
      if (part === 'members' && a !== undefined) {
        const others = {
          teachers: cls.teachers.filter((t) => t !== a),
          students: cls.students.filter((s) => s !== a),
        };
        if (method === 'DELETE') {
          save({ ...cls, ...others });
          return new Response(null, { status: 204 });
        }
        const role = (body as { role: string }).role;
        return save({
          ...cls,
          teachers: role === 'teacher' ? [...others.teachers, a] : others.teachers,
          students: role === 'student' ? [...others.students, a] : others.students,
        });
      }
      if (part === 'vms' && a !== undefined && b !== undefined) {
        const vms = cls.vms.filter((vm) => !(vm.cluster_id === a && vm.vmid === Number(b)));
        if (method === 'DELETE') {
          save({ ...cls, vms });
          return new Response(null, { status: 204 });
        }
        const student = (body as { student: string | null }).student;
        return save({ ...cls, vms: [...vms, { cluster_id: a, vmid: Number(b), student, suspended: false }] });
      }
      return apiError(404, 'not_found', 'Not found');
    },
  };
  return api;
}

function renderPage(
  api: FakeClassesApi,
  user: { username: string; groups: string[] },
  seed: (queryClient: QueryClient) => void = () => {},
) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  seed(queryClient);
  render(
    <QueryClientProvider client={queryClient}>
      <ApiProvider client={new ApiClient('http://api.test', () => 'token', api.fetch)}>
        <AuthContextProvider value={{ user: { ...user, accessToken: 'token' }, signOut: async () => {} }}>
          <ClassesPage />
        </AuthContextProvider>
      </ApiProvider>
    </QueryClientProvider>,
  );
}

/** Answers window.confirm with `answer` while `run` runs, and returns the questions asked. */
async function withConfirm(answer: boolean, run: () => Promise<void>): Promise<string[]> {
  const asked: string[] = [];
  const original = window.confirm;
  window.confirm = (question?: string) => {
    asked.push(question ?? '');
    return answer;
  };
  try {
    await run();
  } finally {
    window.confirm = original;
  }
  return asked;
}

const card = (name: string) => screen.getByRole('region', { name });

afterEach(cleanup);

describe('class rules in the portal', () => {
  it('lets admins do everything, the owner grant teachers, other teachers manage students only', () => {
    const cls = classFixture();
    expect(classPowers(cls, { username: 'root', groups: ['admins'] })).toEqual({
      manage: true,
      teachers: true,
      remove: true,
    });
    expect(classPowers(cls, { username: 'carol', groups: ['teachers'] })).toEqual({
      manage: true,
      teachers: true,
      remove: false,
    });
    expect(classPowers(cls, { username: 'dave', groups: ['teachers'] })).toEqual({
      manage: true,
      teachers: false,
      remove: false,
    });
    // Listed as a teacher without the teachers group, or a student: read only.
    expect(classPowers(cls, { username: 'dave', groups: [] }).manage).toBe(false);
    expect(classPowers(cls, { username: 'alice', groups: ['teachers'] }).manage).toBe(false);
  });

  it('lists teachers before students, replaces and drops classes in the cached list', () => {
    const cls = classFixture();
    expect(classMembers(cls)).toEqual([
      { username: 'carol', role: 'teacher' },
      { username: 'dave', role: 'teacher' },
      { username: 'alice', role: 'student' },
    ]);
    const other = classFixture({ class_id: 'art-aaaaaa', name: 'Art' });
    const list = withClass({ classes: [cls] }, other);
    expect(list.classes.map((c) => c.name)).toEqual(['Art', 'Networking 101']);
    expect(withClass(list, { ...cls, name: 'Zoology' }).classes.map((c) => c.name)).toEqual([
      'Art',
      'Zoology',
    ]);
    expect(withoutClass(list, 'art-aaaaaa').classes.map((c) => c.name)).toEqual(['Networking 101']);
    expect(parseUsernames(' carol, dave  carol,')).toEqual(['carol', 'dave']);
  });
});

describe('Classes page', () => {
  it('lets an admin create a class with its teachers', async () => {
    const api = fakeClassesApi([]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    expect(await screen.findByText('No class exists yet.')).toBeTruthy();
    const form = screen.getByRole('form', { name: 'New class' });
    await user.type(within(form).getByLabelText('Class name'), 'Security 201');
    await user.type(within(form).getByLabelText('Description'), 'Firewalls');
    await user.type(within(form).getByLabelText(/^Teachers/), 'carol, dave');
    await user.click(within(form).getByRole('button', { name: 'Create class' }));
    expect(await screen.findByText('Class Security 201 was created.')).toBeTruthy();
    expect(api.requests).toEqual([
      {
        method: 'POST',
        path: '/api/classes',
        body: { name: 'Security 201', description: 'Firewalls', teachers: ['carol', 'dave'] },
      },
    ]);
    expect(card('Security 201')).toBeTruthy();
  });

  it('refuses an empty class name on the client', async () => {
    const api = fakeClassesApi([]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Create class' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Give the class a name.');
    expect(api.requests).toEqual([]);
  });

  it('adds a member with a role and a VM for a student', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    await screen.findByRole('heading', { name: 'Networking 101' });
    const members = within(card('Networking 101')).getByRole('form', {
      name: 'Add a member to Networking 101',
    });
    await user.type(within(members).getByLabelText('Username'), 'bob');
    await user.click(within(members).getByRole('button', { name: 'Add member' }));
    expect(await screen.findByText('bob is now a student of Networking 101.')).toBeTruthy();

    const vms = within(card('Networking 101')).getByRole('form', { name: 'Add a VM to Networking 101' });
    await user.type(within(vms).getByLabelText('Cluster id'), 'lab-b');
    await user.type(within(vms).getByLabelText('VMID'), '205');
    await user.selectOptions(within(vms).getByLabelText('Student'), 'bob');
    await user.click(within(vms).getByRole('button', { name: 'Add VM' }));
    expect(await screen.findByText('VM lab-b/205 is in Networking 101, assigned to bob.')).toBeTruthy();
    expect(api.requests).toEqual([
      { method: 'PUT', path: '/api/classes/net-101-aaaaaa/members/bob', body: { role: 'student' } },
      { method: 'PUT', path: '/api/classes/net-101-aaaaaa/vms/lab-b/205', body: { student: 'bob' } },
    ]);
    const table = within(card('Networking 101')).getByRole('table', { name: 'Class VMs' });
    expect(within(table).getByRole('row', { name: /lab-b 205 bob/ })).toBeTruthy();
  });

  it("suggests the clusters of the user's VM list (by id, labelled with their names) for the cluster id", async () => {
    const api = fakeClassesApi([classFixture()]);
    const vm = (cluster_id: string, cluster_name: string, vmid: number) =>
      ({ cluster_id, cluster_name, vmid }) as unknown as VmListData['vms'][number];
    renderPage(api, { username: 'carol', groups: ['teachers'] }, (queryClient) =>
      queryClient.setQueryData<VmListData>(VMS_QUERY_KEY, {
        vms: [vm('lab-b', 'Lab B', 201), vm('lab-a', 'Lab A', 101), vm('lab-a', 'Lab A', 102)],
        stale: false,
        generatedAt: '2026-12-07T10:00:00.000Z',
        pages: [],
      }),
    );
    await screen.findByRole('heading', { name: 'Networking 101' });
    const form = screen.getByRole('form', { name: 'Add a VM to Networking 101' });
    const input = within(form).getByLabelText('Cluster id') as HTMLInputElement;
    const list = document.getElementById(input.getAttribute('list') ?? '');
    expect(list?.tagName).toBe('DATALIST');
    const options = [...(list?.querySelectorAll('option') ?? [])].map((o) => [
      o.value,
      o.getAttribute('label'),
    ]);
    expect(options).toEqual([
      ['lab-a', 'Lab A'],
      ['lab-b', 'Lab B'],
    ]);
  });

  it('offers no suggestions when no VM list was loaded', async () => {
    renderPage(fakeClassesApi([classFixture()]), { username: 'carol', groups: ['teachers'] });
    await screen.findByRole('heading', { name: 'Networking 101' });
    const form = screen.getByRole('form', { name: 'Add a VM to Networking 101' });
    expect(within(form).getByLabelText('Cluster id').getAttribute('list')).toBeNull();
  });

  it('checks a typed VM reference before sending it', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    await screen.findByRole('heading', { name: 'Networking 101' });
    const vms = screen.getByRole('form', { name: 'Add a VM to Networking 101' });
    await user.type(within(vms).getByLabelText('Cluster id'), 'lab-a');
    await user.type(within(vms).getByLabelText('VMID'), '12x');
    await user.click(within(vms).getByRole('button', { name: 'Add VM' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Enter the VMID as a number from 100 to 999999999.',
    );
    expect(api.requests).toEqual([]);
  });

  it('asks before removing a member or a VM, and sends nothing when declined', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    await screen.findByRole('heading', { name: 'Networking 101' });
    const declined = await withConfirm(false, () =>
      user.click(screen.getByRole('button', { name: 'Remove alice from Networking 101' })),
    );
    expect(declined).toEqual([
      'Remove alice from Networking 101? Their class VMs stay in the class, unassigned.',
    ]);
    expect(api.requests).toEqual([]);

    const accepted = await withConfirm(true, () =>
      user.click(screen.getByRole('button', { name: 'Remove VM lab-a/101 from Networking 101' })),
    );
    expect(accepted).toEqual(['Remove VM lab-a/101 from Networking 101? alice loses access to it.']);
    expect(await screen.findByText('VM lab-a/101 was removed from Networking 101.')).toBeTruthy();
    expect(api.requests).toEqual([
      { method: 'DELETE', path: '/api/classes/net-101-aaaaaa/vms/lab-a/101', body: null },
    ]);
    expect(await screen.findByText('No VMs in this class yet.')).toBeTruthy();
  });

  it('edits a class, hands it to another teacher, and after asking deletes it', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'admin', groups: ['admins'] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Edit Networking 101' }));
    const form = screen.getByRole('form', { name: 'Edit Networking 101' });
    await user.clear(within(form).getByLabelText('Class name'));
    await user.type(within(form).getByLabelText('Class name'), 'Networking 102');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Class Networking 102 was saved.')).toBeTruthy();
    expect(api.requests[0]).toEqual({
      method: 'PUT',
      path: '/api/classes/net-101-aaaaaa',
      body: { name: 'Networking 102', description: null },
    });

    await user.click(screen.getByRole('button', { name: 'Edit Networking 102' }));
    const again = screen.getByRole('form', { name: 'Edit Networking 102' });
    await user.selectOptions(within(again).getByLabelText('Owner'), 'dave');
    await user.click(within(again).getByRole('button', { name: 'Save' }));
    expect(api.requests[1]).toEqual({
      method: 'PUT',
      path: '/api/classes/net-101-aaaaaa',
      body: { name: 'Networking 102', description: null, owner: 'dave' },
    });
    expect(await screen.findByText('teacher (owner)')).toBeTruthy();
    expect(within(screen.getByRole('row', { name: /^dave/ })).getByText('teacher (owner)')).toBeTruthy();

    const asked = await withConfirm(true, () =>
      user.click(screen.getByRole('button', { name: 'Delete Networking 102' })),
    );
    expect(asked[0]).toMatch(/^Delete the class Networking 102\?/);
    expect(await screen.findByText('Class Networking 102 was deleted.')).toBeTruthy();
    expect(screen.queryByRole('heading', { name: 'Networking 102' })).toBeNull();
    expect(api.requests[2]).toEqual({ method: 'DELETE', path: '/api/classes/net-101-aaaaaa', body: null });
  });

  it('gives a teacher who does not own the class students and VMs to manage, but no teacher role or delete', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'dave', groups: ['teachers'] });
    const user = userEvent.setup();
    await screen.findByRole('heading', { name: 'Networking 101' });
    expect(screen.queryByRole('form', { name: 'New class' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete Networking 101' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Remove carol from Networking 101' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Edit Networking 101' }));
    expect(
      within(screen.getByRole('form', { name: 'Edit Networking 101' })).queryByLabelText('Owner'),
    ).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    const roles = within(screen.getByLabelText('Role')).getAllByRole('option');
    expect(roles.map((option) => option.textContent)).toEqual(['student']);

    api.override = (method) =>
      method === 'PUT'
        ? apiError(400, 'bad_request', 'Invalid username', [
            { field: 'path.username', message: 'invalid username' },
          ])
        : null;
    const members = screen.getByRole('form', { name: 'Add a member to Networking 101' });
    await user.type(within(members).getByLabelText('Username'), 'b@d@x');
    await user.click(within(members).getByRole('button', { name: 'Add member' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'b@d@x could not be added. Invalid username: path.username invalid username.',
    );
  });

  it('shows a refusal of the API in words', async () => {
    const api = fakeClassesApi([classFixture()]);
    renderPage(api, { username: 'carol', groups: ['teachers'] });
    const user = userEvent.setup();
    await screen.findByRole('heading', { name: 'Networking 101' });
    api.override = (method) =>
      method === 'GET'
        ? null
        : apiError(403, 'forbidden', 'Only admins and the class owner grant or remove the teacher role');
    await user.type(screen.getByLabelText('Username'), 'erin');
    await user.selectOptions(screen.getByLabelText('Role'), 'teacher');
    await user.click(screen.getByRole('button', { name: 'Add member' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'erin could not be added. You are not allowed to do this: Only admins and the class owner grant or remove the teacher role.',
    );
  });

  it('shows a class read-only to a student of it', async () => {
    renderPage(fakeClassesApi([classFixture({ teachers: ['carol'], students: ['alice'] })]), {
      username: 'alice',
      groups: [],
    });
    await screen.findByRole('heading', { name: 'Networking 101' });
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByRole('form')).toBeNull();
  });
});

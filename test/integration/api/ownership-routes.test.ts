import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import {
  ClassResponseSchema,
  ImportMappingsResponseSchema,
  ListAssignmentsResponseSchema,
  ListClassesResponseSchema,
} from '#shared/http/schemas/ownership.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { type ApiWorld, freshClusterState, startApiWorld, vmItem } from './api-world.ts';

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld('api-own');
  const { inventory, syncState } = world.repositories;
  await inventory.batchPut([
    vmItem('lab-a', 101),
    vmItem('lab-a', 102),
    vmItem('lab-a', 200),
    vmItem('lab-b', 101),
    vmItem('lab-b', 300),
  ]);
  await syncState.putClusterState(freshClusterState('lab-a'));
  await syncState.putClusterState(freshClusterState('lab-b'));
});

afterAll(async () => {
  await world?.close();
});

type ErrorAnswer = {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
};

const importAs = (token: string, body: unknown, query = '') =>
  world.request('POST', `/api/assignments/import${query}`, { token, body });

const listAssignments = async (query = '') => {
  const response = await world.request('GET', `/api/assignments${query}`, { token: world.tokens.admin });
  expect(response.status).toBe(200);
  return ListAssignmentsResponseSchema.parse(await response.json()).assignments;
};

describe('mappings.json import', () => {
  it.each([
    [
      'a bare VMID without a cluster on two clusters (ambiguous)',
      { alice: [101] },
      '',
      'body.alice[0]',
      /ambiguous VMID 101.*lab-a, lab-b/,
    ],
    [
      'a bare VMID without a cluster on one cluster (never guessed)',
      { alice: [300] },
      '',
      'body.alice[0]',
      /never guessed/,
    ],
    ['an unknown VMID', { alice: ['lab-a:999'] }, '', 'body.alice[0]', /unknown VM lab-a:999/],
    [
      'an unknown bare VMID with the cluster named',
      { alice: [300] },
      '?cluster=lab-a',
      'body.alice[0]',
      /unknown VM lab-a:300/,
    ],
    ['an unknown cluster', { alice: ['lab-z:101'] }, '', 'body.alice[0]', /unknown cluster "lab-z"/],
    ['an unknown import cluster', { alice: [101] }, '?cluster=lab-z', 'query.cluster', /unknown cluster/],
  ])('refuses %s, naming the entry, and imports nothing', async (_label, body, query, field, message) => {
    const good = { bob: ['lab-b:300'] };
    const response = await importAs(world.tokens.admin, { ...good, ...body }, query);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as ErrorAnswer;
    expect(answer.error.message).toMatch(/nothing was imported/);
    const detail = answer.error.details?.find((d) => d.field === field);
    expect(detail?.message).toMatch(message);
    expect(await listAssignments('?username=bob')).toEqual([]);
  });

  it.each([
    ['not an object', [101]],
    ['a list that is not a list', { alice: 101 }],
    ['an entry of the wrong type', { alice: [true] }],
    ['a malformed "cluster:vmid"', { alice: ['lab-a-101'] }],
  ])('refuses a file of the wrong shape (%s)', async (_label, body) => {
    const response = await importAs(world.tokens.admin, body, '?cluster=lab-a');
    expect(response.status).toBe(400);
    const answer = (await response.json()) as ErrorAnswer;
    expect(answer.error.details?.every((d) => d.field.startsWith('body'))).toBe(true);
    expect(await listAssignments()).toEqual([]);
  });

  it('lists every problem of a bad file at once', async () => {
    const response = await importAs(world.tokens.admin, { alice: [101, 'lab-a:998'], carol: ['lab-q:5000'] });
    const answer = (await response.json()) as ErrorAnswer;
    expect(answer.error.details?.map((d) => d.field).sort()).toEqual([
      'body.alice[0]',
      'body.alice[1]',
      'body.carol[0]',
    ]);
  });

  it('imports a good file with normalized usernames, then reports it unchanged', async () => {
    const file = { 'Alice@PVE': [101, 'lab-b:101'], alice: [101], 'bob@pam': ['lab-a:200'] };
    const dry = await importAs(world.tokens.admin, file, '?cluster=lab-a&dry_run=true');
    expect(ImportMappingsResponseSchema.parse(await dry.json())).toEqual({
      dry_run: true,
      users: 2,
      assignments: 3,
      created: 3,
      unchanged: 0,
    });
    expect(await listAssignments()).toEqual([]);
    const first = await importAs(world.tokens.admin, file, '?cluster=lab-a');
    expect(first.status).toBe(200);
    expect(ImportMappingsResponseSchema.parse(await first.json())).toMatchObject({
      created: 3,
      unchanged: 0,
    });
    const again = await importAs(world.tokens.admin, file, '?cluster=lab-a');
    expect(ImportMappingsResponseSchema.parse(await again.json())).toMatchObject({
      created: 0,
      unchanged: 3,
    });
    const all = await listAssignments();
    expect(all.map((a) => `${a.username}:${a.cluster_id}:${a.vmid}:${a.source}`)).toEqual([
      'alice:lab-a:101:mapping',
      'alice:lab-b:101:mapping',
      'bob:lab-a:200:mapping',
    ]);
    const alice = ListVmsResponseSchema.parse(
      await (await world.request('GET', '/api/vms', { token: world.tokens.studentA })).json(),
    );
    expect(alice.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-a:101', 'lab-b:101']);
  });

  it('is for admins only', async () => {
    const response = await importAs(world.tokens.teacher, { alice: ['lab-a:101'] });
    expect(response.status).toBe(403);
  });
});

describe('assignments', () => {
  it('puts (idempotently), lists with paging, and deletes an assignment', async () => {
    const put = () =>
      world.request('PUT', '/api/assignments', {
        token: world.tokens.admin,
        body: { username: 'Bob@pve', cluster_id: 'lab-b', vmid: 300 },
      });
    const first = await put();
    expect(first.status).toBe(200);
    const second = await put();
    expect(await second.json()).toEqual(await first.json());
    expect(
      (await listAssignments('?username=bob')).map((a) => `${a.cluster_id}:${a.vmid}:${a.source}`),
    ).toEqual(['lab-a:200:mapping', 'lab-b:300:admin']);
    const page1 = ListAssignmentsResponseSchema.parse(
      await (await world.request('GET', '/api/assignments?limit=2', { token: world.tokens.admin })).json(),
    );
    expect(page1.assignments).toHaveLength(2);
    const page2 = ListAssignmentsResponseSchema.parse(
      await (
        await world.request('GET', `/api/assignments?limit=2&cursor=${page1.next_cursor}`, {
          token: world.tokens.admin,
        })
      ).json(),
    );
    expect(page2.assignments).toHaveLength(2);
    expect(page2.next_cursor).toBeNull();
    const removed = await world.request('DELETE', '/api/assignments?username=bob&cluster=lab-b&vmid=300', {
      token: world.tokens.admin,
    });
    expect(removed.status).toBe(204);
    expect((await listAssignments('?username=bob')).map((a) => a.vmid)).toEqual([200]);
  });

  it('refuses a VM that is not in the inventory, naming body.vmid', async () => {
    const response = await world.request('PUT', '/api/assignments', {
      token: world.tokens.admin,
      body: { username: 'bob', cluster_id: 'lab-b', vmid: 999 },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorAnswer).error.details?.[0]?.field).toBe('body.vmid');
  });
});

describe('classes', () => {
  it('lets admins create a class and its teacher manage members and VMs', async () => {
    const created = await world.request('POST', '/api/classes', {
      token: world.tokens.admin,
      body: { name: 'Networking 101', teachers: ['Carol'] },
    });
    expect(created.status).toBe(201);
    const cls = ClassResponseSchema.parse(await created.json());
    expect(cls.class_id).toMatch(/^networking-101-[0-9a-f]{6}$/);
    expect(cls.teachers).toEqual(['carol']);
    const base = `/api/classes/${cls.class_id}`;

    // the teacher adds alice as a student
    const member = await world.request('PUT', `${base}/members/alice@pve`, {
      token: world.tokens.teacher,
      body: {},
    });
    expect(member.status).toBe(200);
    expect(ClassResponseSchema.parse(await member.json()).students).toEqual(['alice']);

    // a teacher cannot bring in a VM they do not see; an admin can
    const refused = await world.request('PUT', `${base}/vms/lab-a/102`, {
      token: world.tokens.teacher,
      body: { student: 'alice' },
    });
    expect(refused.status).toBe(404);
    const added = await world.request('PUT', `${base}/vms/lab-a/102`, {
      token: world.tokens.admin,
      body: { student: 'alice' },
    });
    expect(added.status).toBe(200);

    // now the teacher sees the class VM, and alice sees it as hers
    const carol = ListVmsResponseSchema.parse(
      await (await world.request('GET', '/api/vms', { token: world.tokens.teacher })).json(),
    );
    expect(carol.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-a:102']);
    const alice = ListVmsResponseSchema.parse(
      await (await world.request('GET', '/api/vms', { token: world.tokens.studentA })).json(),
    );
    expect(alice.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toContain('lab-a:102');

    // bob (not a member) cannot see the class; alice sees only herself among students
    expect((await world.request('GET', base, { token: world.tokens.studentB })).status).toBe(404);
    const asAlice = ClassResponseSchema.parse(
      await (await world.request('GET', base, { token: world.tokens.studentA })).json(),
    );
    expect(asAlice.students).toEqual(['alice']);
    // a student cannot manage it
    expect(
      (await world.request('PUT', base, { token: world.tokens.studentA, body: { name: 'x' } })).status,
    ).toBe(403);
    // the teacher renames it
    const renamed = await world.request('PUT', base, {
      token: world.tokens.teacher,
      body: { name: 'Networking 102' },
    });
    expect(ClassResponseSchema.parse(await renamed.json()).name).toBe('Networking 102');
    const listed = ListClassesResponseSchema.parse(
      await (await world.request('GET', '/api/classes', { token: world.tokens.teacher })).json(),
    );
    expect(listed.classes.map((c) => c.name)).toEqual(['Networking 102']);

    // removing the VM takes it away from alice; deleting the class is for admins
    expect(
      (await world.request('DELETE', `${base}/vms/lab-a/102`, { token: world.tokens.teacher })).status,
    ).toBe(204);
    const aliceAfter = ListVmsResponseSchema.parse(
      await (await world.request('GET', '/api/vms', { token: world.tokens.studentA })).json(),
    );
    expect(aliceAfter.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).not.toContain('lab-a:102');
    expect(
      (await world.request('DELETE', `${base}/members/alice`, { token: world.tokens.teacher })).status,
    ).toBe(204);
    expect((await world.request('DELETE', base, { token: world.tokens.teacher })).status).toBe(403);
    expect((await world.request('DELETE', base, { token: world.tokens.admin })).status).toBe(204);
    expect((await world.request('GET', base, { token: world.tokens.admin })).status).toBe(404);
  });
});

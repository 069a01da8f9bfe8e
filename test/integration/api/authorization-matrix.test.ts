import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { Context } from 'aws-lambda';
import { createVmActionHandler } from '#functions/api/vm-action.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { type ActionGateway, createActionService } from '#shared/actions/action-service.ts';
import { type RouteId, routeList, routes } from '#shared/http/routes.ts';
import { SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { type RefusedTokens, refusedTokens } from '../../helpers/tokens.ts';
import {
  type ApiWorld,
  freshClusterState,
  NOW_MS,
  seedTestOwnership,
  startApiWorld,
  vmItem,
} from './api-world.ts';

/**
 * Every route × {no token, forged signature, expired, wrong audience, student A, student B, teacher
 * of A's class, admin} through the local gateway (the HTTP API's JWT authorizer) and the real
 * handlers on DynamoDB Local.
 *
 * World: alice (student A) owns lab-a:101 and, through class `net-a` (teacher carol), lab-a:102;
 * bob (student B) owns lab-b:101 — the same VMID on another cluster.
 */

let world: ApiWorld;
let refused: RefusedTokens;

/** Power calls that reached the Proxmox stand-in, as `vmid/action`. */
const actionCalls: string[] = [];

/** Proxmox stand-in: every task succeeds at once (only reached by callers allowed to act). */
const proxmox: ActionGateway = {
  powerAction: async (node, _type, vmid, action) => {
    actionCalls.push(`${vmid}/${action}`);
    return `UPID:${node}:00000001:00000002:6744F00D:qm${action}:${vmid}:root@pam:`;
  },
  waitForTask: async (upid) => ({ finished: true, upid, exitStatus: 'OK', ok: true }),
  guestStatus: async () => ({ status: 'running' }),
};

beforeAll(async () => {
  let actionHandler: GatewayLambdaHandler | undefined;
  world = await startApiWorld('api-matrix', {
    vmAction: (event: never, context: Context) => actionHandler?.(event, context),
  });
  actionHandler = createVmActionHandler(async () =>
    createActionService({
      inventory: world.repositories.inventory,
      ownership: world.repositories.ownership,
      clusterIds: async () => ['lab-a', 'lab-b'],
      gatewayFor: async () => proxmox,
      waitMs: 1_000,
    }),
  );
  refused = await refusedTokens(world.issuer);
  const { inventory, syncState, ownership } = world.repositories;
  await inventory.batchPut([
    vmItem('lab-a', 101),
    vmItem('lab-a', 102),
    vmItem('lab-a', 103),
    vmItem('lab-a', 104),
    vmItem('lab-b', 101),
    vmItem('lab-b', 150),
  ]);
  await syncState.putClusterState(freshClusterState('lab-a', { total: 3, running: 3, error: 0 }));
  await syncState.putClusterState(freshClusterState('lab-b', { total: 2, running: 2, error: 0 }));
  await seedTestOwnership(ownership);
});

afterAll(async () => {
  await world?.close();
});

interface Cell {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  /** expected status per valid identity; absent: the route belongs to another part (see below) */
  readonly expect?: { studentA: number; studentB: number; teacher: number; admin: number };
}

const admins = (ok: number) => ({ studentA: 403, studentB: 403, teacher: 403, admin: ok });
const managers = (ok: number) => ({ studentA: 403, studentB: 404, teacher: ok, admin: ok });
const everyone = (ok: number) => ({ studentA: ok, studentB: ok, teacher: ok, admin: ok });

/** One concrete, idempotent request per route. */
const CELLS: Record<RouteId, Cell> = {
  listVms: { method: 'GET', path: '/api/vms', expect: everyone(200) },
  getVm: {
    method: 'GET',
    path: '/api/vms/lab-a/102',
    expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
  },
  getVmHistory: {
    method: 'GET',
    path: '/api/vms/lab-a/102/history?range=24h',
    expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
  },
  getVmStatus: {
    method: 'GET',
    path: '/api/vm/102/status',
    expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
  },
  getVmIp: {
    method: 'GET',
    path: '/api/vm/101/ip?cluster=lab-b',
    expect: { studentA: 404, studentB: 200, teacher: 404, admin: 200 },
  },
  getSyncStats: { method: 'GET', path: '/api/sync/stats', expect: everyone(200) },
  getSyncHealth: { method: 'GET', path: '/api/sync/health', expect: everyone(200) },
  // POST /api/sync/trigger and POST /api/vm/{vmid}/{action} have their own suites (trigger and
  // action tests): only the authorizer's rows are checked here.
  triggerSync: { method: 'POST', path: '/api/sync/trigger', body: {} },
  vmAction: { method: 'POST', path: '/api/vm/101/start?cluster=lab-a' },
  // bulk actions have their own suite (test/integration/actions/bulk-actions.test.ts)
  bulkAction: { method: 'POST', path: '/api/bulk-actions', body: { action: 'start', class_id: 'net-a' } },
  getBulkAction: { method: 'GET', path: '/api/bulk-actions/0c6e8e0a-6f5e-4b43' },
  listAssignments: { method: 'GET', path: '/api/assignments', expect: admins(200) },
  putAssignment: {
    method: 'PUT',
    path: '/api/assignments',
    body: { username: 'erin', cluster_id: 'lab-b', vmid: 150 },
    expect: admins(200),
  },
  deleteAssignment: {
    method: 'DELETE',
    path: '/api/assignments?username=erin&cluster=lab-b&vmid=150',
    expect: admins(204),
  },
  importMappings: {
    method: 'POST',
    path: '/api/assignments/import?cluster=lab-b',
    body: { 'erin@pve': [150] },
    expect: admins(200),
  },
  listClasses: { method: 'GET', path: '/api/classes', expect: everyone(200) },
  createClass: { method: 'POST', path: '/api/classes', body: { name: 'Matrix' }, expect: admins(201) },
  getClass: {
    method: 'GET',
    path: '/api/classes/net-a',
    expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
  },
  updateClass: {
    method: 'PUT',
    path: '/api/classes/net-a',
    body: { description: 'lab class' },
    expect: managers(200),
  },
  deleteClass: { method: 'DELETE', path: '/api/classes/no-such-class', expect: admins(204) },
  putClassMember: { method: 'PUT', path: '/api/classes/net-a/members/dan', body: {}, expect: managers(200) },
  deleteClassMember: { method: 'DELETE', path: '/api/classes/net-a/members/dan', expect: managers(204) },
  putClassVm: {
    method: 'PUT',
    path: '/api/classes/net-a/vms/lab-a/102',
    body: { student: 'alice' },
    expect: managers(200),
  },
  deleteClassVm: { method: 'DELETE', path: '/api/classes/net-a/vms/lab-a/103', expect: managers(204) },
  getClassSchedule: { method: 'GET', path: '/api/classes/net-a/schedule', expect: managers(200) },
  putClassSchedule: {
    method: 'PUT',
    path: '/api/classes/net-a/schedule',
    body: { timezone: 'Europe/Berlin', shutdown_cron: '0 22 * * *' },
    expect: managers(200),
  },
  deleteClassSchedule: { method: 'DELETE', path: '/api/classes/net-a/schedule', expect: managers(204) },
  keepVmRunning: {
    method: 'POST',
    path: '/api/vms/lab-a/102/keep-running',
    expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
  },
  listAudit: { method: 'GET', path: '/api/audit?limit=5', expect: admins(200) },
  getOpenApi: { method: 'GET', path: '/api/openapi.json', expect: everyone(200) },
};

const USERS = ['studentA', 'studentB', 'teacher', 'admin'] as const;
const BAD_TOKENS = ['none', 'forged', 'expired', 'wrongAudience'] as const;

const send = (cell: Cell, token: string | undefined) =>
  world.request(cell.method, cell.path, {
    ...(token === undefined ? {} : { token }),
    ...(cell.body === undefined ? {} : { body: cell.body }),
  });

describe('authorization matrix', () => {
  it('covers every route of the table', () => {
    expect(Object.keys(CELLS).sort()).toEqual(routeList.map((route) => route.id).sort());
  });

  describe.each(BAD_TOKENS)('with %s token', (kind) => {
    it.each(routeList.map((route) => route.id as RouteId))('%s', async (routeId) => {
      const token = kind === 'none' ? undefined : refused[kind];
      const response = await send(CELLS[routeId], token);
      // Public routes have no authorizer: a bad token is simply ignored.
      expect(response.status).toBe(routes[routeId].auth === 'public' ? 200 : 401);
    });
  });

  it('answers an unknown route 404 not_found for every caller and every token, as the $default route does', async () => {
    const tokens = [undefined, ...BAD_TOKENS.filter((kind) => kind !== 'none').map((kind) => refused[kind])];
    for (const token of [...tokens, ...USERS.map((user) => world.tokens[user])]) {
      for (const [method, path] of [
        ['GET', '/api/no-such-route'],
        ['DELETE', '/api/vms'],
      ] as const) {
        const response = await world.request(method, path, token === undefined ? {} : { token });
        expect(response.status).toBe(404);
        expect(await response.json()).toMatchObject({
          error: { code: 'not_found', message: `No route for ${method} ${path}` },
        });
      }
    }
  });

  describe.each(USERS)('as %s', (user) => {
    it.each(
      routeList.map((route) => route.id as RouteId).filter((routeId) => CELLS[routeId].expect !== undefined),
    )('%s', async (routeId) => {
      const cell = CELLS[routeId];
      const response = await send(cell, world.tokens[user]);
      expect(
        response.status,
        `${cell.method} ${cell.path} as ${user}: ${await response.clone().text()}`,
      ).toBe(cell.expect?.[user]);
    });
  });
});

/**
 * Role changes (issue: a teacher promoted a student, who then acted as one). Class `net-r`: owner
 * carol, teacher tom (both with the teacher group), students alice and frank; lab-a:104 is frank's
 * class VM. The action route runs the real action service with a Proxmox stand-in that records
 * the calls (only reached once a caller was allowed to act).
 */
describe('role changes', () => {
  let tokens: Record<'tom' | 'aliceWithGroup' | 'erinTeacher', string>;
  const as = (token: string, method: string, path: string, body?: unknown) =>
    world.request(method, path, { token, ...(body === undefined ? {} : { body }) });
  const seesFranksVm = async (token: string) => {
    const list = ListVmsResponseSchema.parse(await (await as(token, 'GET', '/api/vms')).json());
    return list.vms.some((vm) => vm.cluster_id === 'lab-a' && vm.vmid === 104);
  };

  beforeAll(async () => {
    const { ownership } = world.repositories;
    await ownership.putClass({ class_id: 'net-r', name: 'Roles', owner: 'carol', created_at: NOW_MS });
    await ownership.addClassMember('net-r', 'carol', 'teacher');
    await ownership.addClassMember('net-r', 'tom', 'teacher');
    await ownership.addClassMember('net-r', 'alice', 'student');
    await ownership.addClassMember('net-r', 'frank', 'student');
    await ownership.assignClassVm('net-r', { cluster_id: 'lab-a', vmid: 104 }, 'frank', NOW_MS);
    tokens = {
      tom: await world.issuer.issueToken('tom', { groups: ['teachers'] }),
      aliceWithGroup: await world.issuer.issueToken('alice', { groups: ['teachers'] }),
      erinTeacher: await world.issuer.issueToken('erin', { groups: ['teachers'] }),
    };
  });

  it('a teacher who is not the owner cannot grant the teacher role', async () => {
    expect(
      (await as(tokens.tom, 'PUT', '/api/classes/net-r/members/alice', { role: 'teacher' })).status,
    ).toBe(403);
    expect((await as(tokens.tom, 'PUT', '/api/classes/net-r/members/dan', { role: 'student' })).status).toBe(
      200,
    );
  });

  it('a student promoted to class teacher without the teacher group gains nothing', async () => {
    expect(
      (await as(world.tokens.teacher, 'PUT', '/api/classes/net-r/members/alice', { role: 'teacher' })).status,
    ).toBe(200);
    const alice = world.tokens.studentA;
    expect(await seesFranksVm(alice)).toBe(false);
    expect((await as(alice, 'GET', '/api/vms/lab-a/104')).status).toBe(404);
    expect((await as(alice, 'POST', '/api/vm/104/reboot?cluster=lab-a')).status).toBe(404);
    expect((await as(alice, 'DELETE', '/api/classes/net-r/members/carol')).status).toBe(403);
    expect((await as(alice, 'DELETE', '/api/classes/net-r/members/frank')).status).toBe(403);
    expect((await as(alice, 'PUT', '/api/classes/net-r', { description: 'mine' })).status).toBe(403);
    expect((await as(alice, 'PUT', '/api/classes/net-r/members/mallory', { role: 'teacher' })).status).toBe(
      403,
    );
    expect(actionCalls).toEqual([]);
  });

  it('with the teacher group too, the promoted member acts as a teacher of that class', async () => {
    expect(await seesFranksVm(tokens.aliceWithGroup)).toBe(true);
    expect((await as(tokens.aliceWithGroup, 'POST', '/api/vm/104/reboot?cluster=lab-a')).status).toBe(200);
    expect(actionCalls).toEqual(['104/reboot']);
    // The teacher group alone, without a teacher membership, gives no class.
    expect(await seesFranksVm(tokens.erinTeacher)).toBe(false);
    expect((await as(tokens.erinTeacher, 'GET', '/api/classes/net-r')).status).toBe(404);
  });

  it('demoting a teacher removes their powers at once', async () => {
    expect(await seesFranksVm(tokens.tom)).toBe(true);
    expect(
      (await as(world.tokens.admin, 'PUT', '/api/classes/net-r/members/tom', { role: 'student' })).status,
    ).toBe(200);
    expect(await seesFranksVm(tokens.tom)).toBe(false);
    expect((await as(tokens.tom, 'POST', '/api/vm/104/reboot?cluster=lab-a')).status).toBe(404);
    expect((await as(tokens.tom, 'DELETE', '/api/classes/net-r/members/frank')).status).toBe(403);
  });

  it('nobody removes or demotes the class owner; an admin names another owner first', async () => {
    expect((await as(tokens.aliceWithGroup, 'DELETE', '/api/classes/net-r/members/carol')).status).toBe(409);
    expect((await as(world.tokens.admin, 'DELETE', '/api/classes/net-r/members/carol')).status).toBe(409);
    expect(
      (await as(world.tokens.admin, 'PUT', '/api/classes/net-r/members/carol', { role: 'student' })).status,
    ).toBe(409);
    expect((await as(world.tokens.teacher, 'PUT', '/api/classes/net-r', { owner: 'alice' })).status).toBe(
      403,
    );
    expect((await as(world.tokens.admin, 'PUT', '/api/classes/net-r', { owner: 'frank' })).status).toBe(400);
    const moved = await as(world.tokens.admin, 'PUT', '/api/classes/net-r', { owner: 'alice' });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { owner: string }).owner).toBe('alice');
    expect((await as(world.tokens.admin, 'DELETE', '/api/classes/net-r/members/carol')).status).toBe(204);
  });
});

/**
 * Group names match exactly, as the identity provider spells them: look-alikes of the admin and
 * teacher groups grant nothing, also when API Gateway's flattening of the array (`[lab admins]`)
 * would read as two groups.
 */
describe('odd group names', () => {
  const ODD_GROUPS = [
    ['Printer Admins'],
    ['x,admins'],
    ['ADMINS'],
    ['Admins'],
    ['admins '],
    ['[admins]'],
    ['lab admins'],
    ['lab teachers'],
    ['admins,teachers'],
    ['"admins"'],
  ];

  it.each(ODD_GROUPS.map((groups) => [JSON.stringify(groups), groups] as const))(
    '%s is neither admin nor teacher',
    async (_label, groups) => {
      const token = await world.issuer.issueToken('eve', { groups: [...groups] });
      expect((await world.request('GET', '/api/assignments', { token })).status).toBe(403);
      expect((await world.request('PUT', '/api/classes/net-a/members/eve', { token, body: {} })).status).toBe(
        404,
      );
    },
  );

  it('the exact group names still grant their roles', async () => {
    const token = await world.issuer.issueToken('eve', { groups: ['Printer Admins', 'admins'] });
    expect((await world.request('GET', '/api/assignments', { token })).status).toBe(200);
  });
});

describe('a VMID present on two clusters', () => {
  const keysOf = async (token: string) =>
    ListVmsResponseSchema.parse(await (await world.request('GET', '/api/vms', { token })).json()).vms.map(
      (vm) => `${vm.cluster_id}:${vm.vmid}`,
    );

  it("never shows one user's VM to the other", async () => {
    expect(await keysOf(world.tokens.studentA)).toEqual(['lab-a:101', 'lab-a:102']);
    expect(await keysOf(world.tokens.studentB)).toEqual(['lab-b:101']);
    expect(await keysOf(world.tokens.teacher)).toEqual(['lab-a:102']);
    expect((await world.request('GET', '/api/vms/lab-b/101', { token: world.tokens.studentA })).status).toBe(
      404,
    );
    expect((await world.request('GET', '/api/vms/lab-a/101', { token: world.tokens.studentB })).status).toBe(
      404,
    );
    expect((await world.request('GET', '/api/vms?search=101', { token: world.tokens.studentB })).status).toBe(
      200,
    );
    expect(await keysOf(world.tokens.studentB)).not.toContain('lab-a:101');
  });

  it('counts each user over their own VM only', async () => {
    const stats = SyncStatsResponseSchema.parse(
      await (await world.request('GET', '/api/sync/stats', { token: world.tokens.studentB })).json(),
    );
    expect(stats.total_vms).toBe(1);
    expect(stats.clusters.map((c) => c.cluster_id)).toEqual(['lab-b']);
  });
});

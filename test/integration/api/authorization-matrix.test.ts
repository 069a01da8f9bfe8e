import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { type RouteId, routeList, routes } from '#shared/http/routes.ts';
import { SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { type RefusedTokens, refusedTokens } from '../../helpers/tokens.ts';
import { type ApiWorld, freshClusterState, seedTestOwnership, startApiWorld, vmItem } from './api-world.ts';

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

beforeAll(async () => {
  world = await startApiWorld('api-matrix');
  refused = await refusedTokens(world.issuer);
  const { inventory, syncState, ownership } = world.repositories;
  await inventory.batchPut([
    vmItem('lab-a', 101),
    vmItem('lab-a', 102),
    vmItem('lab-a', 103),
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
  // POST /api/sync/trigger and POST /api/vm/{vmid}/{action} are the action/trigger engineer's
  // handlers: only the authorizer's rows are checked here.
  triggerSync: { method: 'POST', path: '/api/sync/trigger', body: {} },
  vmAction: { method: 'POST', path: '/api/vm/101/start?cluster=lab-a' },
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

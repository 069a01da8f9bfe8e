import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { SyncHealthResponseSchema, SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';
import { ListVmsResponseSchema, VmSchema } from '#shared/http/schemas/vms.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld, vmItem } from './api-world.ts';

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld('api-read');
  const { inventory, syncState, ownership } = world.repositories;
  await inventory.batchPut([
    vmItem('lab-a', 101, { name: 'Web-Server', tag_list: ['exam', 'web'], ip: '10.1.2.3' }),
    vmItem('lab-a', 102, { name: 'db', status: 'stopped', boot_time: null, node: 'pve2' }),
    vmItem('lab-a', 103, { name: 'broken', sync_error: 'agent timeout' }),
    vmItem('lab-b', 101, { name: 'other-101', ip: '10.9.9.9' }),
    vmItem('lab-b', 150, { name: 'stale-one', node: 'pve9' }),
  ]);
  await syncState.putClusterState(freshClusterState('lab-a', { total: 3, running: 2, error: 1 }));
  const b = freshClusterState('lab-b', { total: 2, running: 2, error: 0 });
  await syncState.putClusterState({
    ...b,
    nodes: {
      ...b.nodes,
      pve9: { online: false, last_seen_at: NOW_MS - 30_000, last_online_at: NOW_MS - 3_600_000 },
    },
  });
  await syncState.writeNodeRuntime({
    clusterId: 'lab-a',
    node: 'pve1',
    stats: new Map([[101, { cpu_usage: 12.34, memory_usage: 50 }]]),
    observedAt: NOW_MS - 30_000,
  });
  // alice owns lab-a:101 only; bob owns lab-b:101 (the same VMID on another cluster).
  await ownership.putAssignment({
    username: 'alice',
    cluster_id: 'lab-a',
    vmid: 101,
    source: 'admin',
    created_at: NOW_MS,
  });
  await ownership.putAssignment({
    username: 'bob',
    cluster_id: 'lab-b',
    vmid: 101,
    source: 'admin',
    created_at: NOW_MS,
  });
  // a suspended assignment is never shown
  await ownership.putAssignment({
    username: 'alice',
    cluster_id: 'lab-b',
    vmid: 150,
    source: 'admin',
    created_at: NOW_MS,
    suspended: true,
    suspended_at: NOW_MS,
  });
});

afterAll(async () => {
  await world?.close();
});

const listAs = async (token: string, query = '') => {
  const response = await world.request('GET', `/api/vms${query}`, { token });
  expect(response.status).toBe(200);
  return ListVmsResponseSchema.parse(await response.json());
};

describe('GET /api/vms', () => {
  it('shows a student exactly their VM, never the same VMID on another cluster', async () => {
    const alice = await listAs(world.tokens.studentA);
    expect(alice.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-a:101']);
    expect(alice.vms[0]?.cpu_usage).toBe(12.3);
    expect(alice.mode).toBe('inventory');
    expect(alice.next_cursor).toBeNull();
    const bob = await listAs(world.tokens.studentB);
    expect(bob.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-b:101']);
  });

  it('shows an admin every VM in (cluster, vmid) order', async () => {
    const all = await listAs(world.tokens.admin);
    expect(all.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual([
      'lab-a:101',
      'lab-a:102',
      'lab-a:103',
      'lab-b:101',
      'lab-b:150',
    ]);
  });

  it("reads an admin page's runtime stats of every cluster in one BatchGet of the nodes the cluster states list", async () => {
    const { syncState } = world.repositories;
    await syncState.writeNodeRuntime({
      clusterId: 'lab-b',
      node: 'pve1',
      stats: new Map([[101, { cpu_usage: 7.77, memory_usage: 20 }]]),
      observedAt: NOW_MS - 30_000,
    });
    const perCluster = vi.spyOn(syncState, 'readRuntime');
    const batched = vi.spyOn(syncState, 'readNodeRuntimes');
    try {
      const all = await listAs(world.tokens.admin);
      const cpu = Object.fromEntries(all.vms.map((vm) => [`${vm.cluster_id}:${vm.vmid}`, vm.cpu_usage]));
      expect(cpu).toMatchObject({ 'lab-a:101': 12.3, 'lab-b:101': 7.8 });
      expect(perCluster).not.toHaveBeenCalled();
      expect(batched).toHaveBeenCalledTimes(1);
      const keys = (batched.mock.calls[0]?.[0] ?? []).map((k) => `${k.clusterId}/${k.node}`).sort();
      expect(keys).toContain('lab-a/pve1');
      expect(keys).toContain('lab-b/pve9');
    } finally {
      perCluster.mockRestore();
      batched.mockRestore();
    }
  });

  it.each([
    ['?search=web', ['lab-a:101']],
    ['?search=WEB-server', ['lab-a:101']],
    ['?search=10.9.9', ['lab-b:101']],
    ['?search=EXAM', ['lab-a:101']],
    ['?search=15', ['lab-b:150']],
    ['?search=10', ['lab-a:101', 'lab-a:102', 'lab-a:103', 'lab-b:101', 'lab-b:150']],
    ['?cluster=lab-b', ['lab-b:101', 'lab-b:150']],
    ['?status=stopped', ['lab-a:102']],
    ['?node=PVE2', ['lab-a:102']],
    ['?tag=Web', ['lab-a:101']],
    ['?search=nothing-matches', []],
  ])('filters %s', async (query, expected) => {
    const page = await listAs(world.tokens.admin, query);
    expect(page.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(expected);
  });

  it('flags stale VMs and the answer', async () => {
    const page = await listAs(world.tokens.admin, '?cluster=lab-b');
    expect(page.vms.map((vm) => vm.stale)).toEqual([false, true]);
    expect(page.stale).toBe(true);
    const fresh = await listAs(world.tokens.admin, '?cluster=lab-a');
    expect(fresh.stale).toBe(false);
  });

  it('pages with limit and cursor', async () => {
    const first = await listAs(world.tokens.admin, '?limit=2');
    expect(first.vms.map((vm) => vm.vmid)).toEqual([101, 102]);
    expect(first.next_cursor).not.toBeNull();
    const second = await listAs(world.tokens.admin, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-a:103', 'lab-b:101']);
    const third = await listAs(world.tokens.admin, `?limit=2&cursor=${second.next_cursor}`);
    expect(third.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(['lab-b:150']);
    expect(third.next_cursor).toBeNull();
  });

  it('refuses a cursor it did not issue, naming query.cursor', async () => {
    const response = await world.request('GET', '/api/vms?cursor=bm90LWEtY3Vyc29y', {
      token: world.tokens.admin,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { details: { field: string }[] } };
    expect(body.error.details.map((detail) => detail.field)).toContain('query.cursor');
  });

  it('answers an unknown cluster filter like any other bad filter, naming query.cluster', async () => {
    const response = await world.request('GET', '/api/vms?cluster=lab-zz', { token: world.tokens.admin });
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      error: { code: string; details: { field: string; message: string }[] };
    };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.details).toEqual([{ field: 'query.cluster', message: 'unknown cluster "lab-zz"' }]);
    const known = await listAs(world.tokens.admin, '?cluster=lab-b');
    expect(known.vms.every((vm) => vm.cluster_id === 'lab-b')).toBe(true);
  });

  it('answers 304 to If-None-Match with the ETag, and gzips when accepted', async () => {
    const first = await world.request('GET', '/api/vms', { token: world.tokens.admin });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\//);
    const again = await world.request('GET', '/api/vms', {
      token: world.tokens.admin,
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
    const other = await world.request('GET', '/api/vms', {
      token: world.tokens.studentA,
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(other.status).toBe(200);
    const raw = await fetch(`${world.gateway.url}/api/vms`, {
      headers: { authorization: `Bearer ${world.tokens.admin}`, 'accept-encoding': 'gzip' },
    });
    // fetch decodes gzip itself: the header shows it was used, the body still parses.
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    expect(ListVmsResponseSchema.parse(await raw.json()).vms).toHaveLength(5);
  });
});

describe('GET /api/vms/{cluster}/{vmid}', () => {
  it("answers the caller's VM", async () => {
    const response = await world.request('GET', '/api/vms/lab-a/101', { token: world.tokens.studentA });
    expect(response.status).toBe(200);
    expect(VmSchema.parse(await response.json()).name).toBe('Web-Server');
  });

  it.each([
    ['another user’s VM', '/api/vms/lab-b/101'],
    ['a VM that does not exist', '/api/vms/lab-a/999'],
    ['a VM behind a suspended assignment', '/api/vms/lab-b/150'],
  ])('answers 404 for %s', async (_label, path) => {
    const response = await world.request('GET', path, { token: world.tokens.studentA });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: 'not_found',
        message: 'VM not found',
        request_id: response.headers.get('apigw-requestid'),
      },
    });
  });

  it('lets an admin read any VM', async () => {
    const response = await world.request('GET', '/api/vms/lab-b/150', { token: world.tokens.admin });
    expect(response.status).toBe(200);
  });
});

describe('GET /api/sync/stats and /api/sync/health', () => {
  it('gives admins the aggregates', async () => {
    const response = await world.request('GET', '/api/sync/stats', { token: world.tokens.admin });
    const stats = SyncStatsResponseSchema.parse(await response.json());
    expect(stats).toMatchObject({
      total_vms: 5,
      running_vms: 4,
      error_vms: 1,
      fresh_vms: 5,
      is_running: true,
    });
    expect(stats.clusters.map((c) => c.cluster_id)).toEqual(['lab-a', 'lab-b']);
  });

  it('counts a student over their VMs only', async () => {
    const response = await world.request('GET', '/api/sync/stats', { token: world.tokens.studentA });
    const stats = SyncStatsResponseSchema.parse(await response.json());
    expect(stats).toMatchObject({ total_vms: 1, running_vms: 1, error_vms: 0, fresh_vms: 1 });
    expect(stats.clusters.map((c) => c.cluster_id)).toEqual(['lab-a']);
  });

  it('is public and healthy when every cluster synced recently', async () => {
    const response = await world.request('GET', '/api/sync/health');
    expect(response.status).toBe(200);
    const health = SyncHealthResponseSchema.parse(await response.json());
    expect(health).toMatchObject({ healthy: true, issues: [] });
    expect(JSON.stringify(health)).not.toContain('Web-Server');
  });
});

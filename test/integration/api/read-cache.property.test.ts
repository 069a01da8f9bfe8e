import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmListFilters } from '#shared/api/list-query.ts';
import { listVmsPage } from '#shared/api/list-vms.ts';
import { InventoryReadCache } from '#shared/api/read-cache.ts';
import { resolveVisibleScope } from '#shared/api/visibility.ts';
import type { Caller } from '#shared/http/identity.ts';
import { type SyncHarness, startSyncHarness } from '../sync/harness.ts';

/**
 * The read cache's promise: under any interleaving of sync passes (quick and full, over guests
 * that start, stop, appear and vanish), user actions (pending state set, its task id, cleared) and
 * ownership changes (assignments, class membership and class VMs), a list through the cache of a
 * warm process answers exactly what a list that reads everything answers, for an admin (pages,
 * filters) and for users and a teacher. Real parts: the sync engine against the simulator, DynamoDB
 * Local, the repositories as deployed (their writers keep the versions).
 */

const CLUSTERS = ['sim-1', 'sim-2'] as const;
const USERS = ['alice', 'bob'] as const;
const callers: Caller[] = [
  { username: 'admin', roles: { admin: true, teacher: false } },
  { username: 'alice', roles: { admin: false, teacher: false } },
  { username: 'bob', roles: { admin: false, teacher: false } },
  { username: 'carol', roles: { admin: false, teacher: true } },
];
const STALE_AFTER_MS = 600_000;

let h: SyncHarness;
let cache: InventoryReadCache;
let vmids: Record<string, number[]>;

beforeAll(async () => {
  h = await startSyncHarness('read-cache-property', { guestsPerCluster: 8, clusters: 2 });
  for (const cluster of CLUSTERS) {
    const first = await h.service.syncClusterDetailed({ cluster_id: cluster, mode: 'full' });
    expect(first.summary.ok).toBe(true);
  }
  vmids = {};
  for (const cluster of CLUSTERS) {
    vmids[cluster] = (await h.repositories.inventory.listAllClusterVms(cluster)).map((vm) => vm.vmid);
  }
  await h.repositories.ownership.putClass({
    class_id: 'lab',
    name: 'Lab',
    owner: 'carol',
    created_at: h.clock.now,
  });
  // Scopes read right after an ownership write are kept too: DynamoDB Local's indexes do not lag.
  cache = new InventoryReadCache({ now: () => h.clock.now, indexLagMs: 0 });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

type Op =
  | { kind: 'quick' | 'full'; cluster: number }
  | { kind: 'status'; cluster: number; guest: number; running: boolean }
  | { kind: 'create' | 'destroy'; cluster: number; guest: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'pending' | 'upid' | 'clear'; cluster: number; guest: number }
  | { kind: 'assign' | 'unassign'; user: number; cluster: number; guest: number }
  | { kind: 'member' | 'unmember' }
  | { kind: 'classVm' | 'unclassVm'; cluster: number; guest: number };

const cluster = fc.integer({ min: 0, max: CLUSTERS.length - 1 });
const guest = fc.integer({ min: 0, max: 7 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('quick' as const, 'full' as const), cluster }),
  fc.record({ kind: fc.constant('status' as const), cluster, guest, running: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('create' as const, 'destroy' as const), cluster, guest }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(5_000, 60_000, 11 * 60_000) }),
  fc.record({ kind: fc.constantFrom('pending' as const, 'upid' as const, 'clear' as const), cluster, guest }),
  fc.record({
    kind: fc.constantFrom('assign' as const, 'unassign' as const),
    user: fc.integer({ min: 0, max: USERS.length - 1 }),
    cluster,
    guest,
  }),
  fc.record({ kind: fc.constantFrom('member' as const, 'unmember' as const) }),
  fc.record({ kind: fc.constantFrom('classVm' as const, 'unclassVm' as const), cluster, guest }),
);

const pendingSince = new Map<string, number>();

async function apply(step: Op): Promise<void> {
  const clusterId = 'cluster' in step ? (CLUSTERS[step.cluster] ?? 'sim-1') : 'sim-1';
  const known = vmids[clusterId] ?? [];
  const vmid = 'guest' in step ? (known[step.guest % Math.max(1, known.length)] ?? 100) : 100;
  const key = { cluster_id: clusterId, vmid };
  const { inventory, ownership } = h.repositories;
  switch (step.kind) {
    case 'quick':
    case 'full':
      await h.service.syncClusterDetailed({ cluster_id: clusterId, mode: step.kind });
      return;
    case 'status':
      if (known.includes(vmid)) h.sim.setGuestStatus(clusterId, vmid, step.running ? 'running' : 'stopped');
      await h.sim.settled();
      return;
    case 'create':
      known.push(h.sim.createGuest(clusterId, { name: `new-${step.guest}` }));
      await h.sim.settled();
      return;
    case 'destroy':
      if (known.length > 2 && known.includes(vmid)) {
        h.sim.destroyGuest(clusterId, vmid);
        known.splice(known.indexOf(vmid), 1);
      }
      await h.sim.settled();
      return;
    case 'tick':
      await h.tick(step.ms);
      return;
    case 'pending': {
      const since = h.clock.now;
      const result = await inventory.setPending({ key, action: 'start', since });
      if (result.outcome === 'set') pendingSince.set(`${clusterId}#${vmid}`, since);
      return;
    }
    case 'upid': {
      const since = pendingSince.get(`${clusterId}#${vmid}`);
      if (since !== undefined)
        await inventory.setPendingUpid(key, since, `UPID:${clusterId}:${vmid}:${since}`);
      return;
    }
    case 'clear': {
      const since = pendingSince.get(`${clusterId}#${vmid}`);
      if (since !== undefined) await inventory.clearPending(key, since);
      return;
    }
    case 'assign':
      await ownership.putAssignment({
        username: USERS[step.user] ?? 'alice',
        ...key,
        source: 'admin',
        created_at: h.clock.now,
      });
      return;
    case 'unassign':
      await ownership.deleteAssignment({ username: USERS[step.user] ?? 'alice', ...key, source: 'admin' });
      return;
    case 'member':
      await ownership.addClassMember('lab', 'carol', 'teacher');
      return;
    case 'unmember':
      await ownership.removeClassMember('lab', 'carol');
      return;
    case 'classVm':
      await ownership.assignClassVm('lab', key, null, h.clock.now);
      return;
    case 'unclassVm':
      await ownership.removeClassVm('lab', key);
      return;
  }
}

/** Pages of a list as a client walks them: the first, then each next cursor. */
async function walk(caller: Caller, filters: VmListFilters, limit: number, cached: boolean) {
  const pages: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    let result: Awaited<ReturnType<typeof listVmsPage>>;
    if (cached) {
      const { states, ownershipVersion } = await h.repositories.syncState.readVersions();
      const scope = caller.roles.admin
        ? ({ all: true } as const)
        : await cache.scope(JSON.stringify([caller.username, caller.roles]), ownershipVersion, () =>
            resolveVisibleScope(caller, h.repositories.ownership),
          );
      result = await listVmsPage(h.repositories, scope, {
        filters,
        limit,
        cursor,
        nowMs: h.clock.now,
        staleAfterMs: STALE_AFTER_MS,
        clusterStates: states,
        cache,
      });
    } else {
      const [scope, states] = await Promise.all([
        resolveVisibleScope(caller, h.repositories.ownership),
        h.repositories.syncState.listClusterStates(),
      ]);
      result = await listVmsPage(h.repositories, scope, {
        filters,
        limit,
        cursor,
        nowMs: h.clock.now,
        staleAfterMs: STALE_AFTER_MS,
        clusterStates: states,
      });
    }
    pages.push(result);
    if (result.nextCursor === null) break;
    cursor = result.nextCursor;
  }
  return pages;
}

async function expectSameAnswers(): Promise<void> {
  for (const caller of callers) {
    const views: [VmListFilters, number][] = caller.roles.admin
      ? [
          [{}, 1000],
          [{}, 5],
          [{ cluster: 'sim-2' }, 3],
          [{ status: 'running' }, 4],
        ]
      : [[{}, 1000]];
    for (const [filters, limit] of views) {
      const cachedPages = await walk(caller, filters, limit, true);
      const uncachedPages = await walk(caller, filters, limit, false);
      expect(cachedPages, `${caller.username} ${JSON.stringify(filters)} limit ${limit}`).toEqual(
        uncachedPages,
      );
    }
  }
}

describe('the read cache', () => {
  it('answers what a full read answers, under interleaved syncs, actions and ownership changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (steps) => {
        for (const step of steps) {
          await apply(step);
          await expectSameAnswers();
        }
      }),
      { numRuns: 12, endOnFailure: true },
    );
    // The cache was used, not bypassed: most reads after the first came from memory.
    expect(cache.counters.clusterHits).toBeGreaterThan(0);
    expect(cache.counters.runtimeHits).toBeGreaterThan(0);
    expect(cache.counters.scopeHits).toBeGreaterThan(0);
    expect(cache.counters.keyHits).toBeGreaterThan(0);
  }, 600_000);
});

import { describe, expect, it } from 'vitest';
import { configuredClusterIdsFromEnv, planRefresh, refreshVmids } from '#shared/api/refresh-port.ts';
import { type ClusterState, ClusterStateSchema } from '#shared/domain/sync-state.ts';

const synced = (id: string): ClusterState =>
  ClusterStateSchema.parse({ cluster_id: id, last_success_at: 1_000 });
const neverSynced = (id: string): ClusterState => ClusterStateSchema.parse({ cluster_id: id });
const admin = { all: true } as const;
const student = { all: false, keys: [{ cluster_id: 'lab-b', vmid: 101 }] } as const;

describe('planRefresh', () => {
  it('refreshes nothing when every cluster in scope has synced and no refresh was asked', () => {
    expect(planRefresh(admin, [synced('lab-a'), synced('lab-b')], {})).toBeNull();
  });

  it('refreshes the clusters in scope when the caller asks (force_refresh or live)', () => {
    expect(planRefresh(admin, [synced('lab-a'), synced('lab-b')], { live: true })).toEqual({
      clusterIds: ['lab-a', 'lab-b'],
      reason: 'requested',
    });
    expect(planRefresh(student, [synced('lab-a'), synced('lab-b')], { force_refresh: true })).toEqual({
      clusterIds: ['lab-b'],
      reason: 'requested',
    });
  });

  it('limits a requested refresh to the cluster filter', () => {
    expect(planRefresh(admin, [synced('lab-a'), synced('lab-b')], { live: true, cluster: 'lab-a' })).toEqual({
      clusterIds: ['lab-a'],
      reason: 'requested',
    });
  });

  it('refreshes a cluster in scope that never synced', () => {
    expect(planRefresh(admin, [synced('lab-a'), neverSynced('lab-b')], {})).toEqual({
      clusterIds: ['lab-b'],
      reason: 'never-synced',
    });
  });

  it("counts configured clusters the sync has not seen yet in an admin's scope", () => {
    expect(planRefresh(admin, [synced('lab-a')], {}, ['lab-a', 'lab-c'])).toEqual({
      clusterIds: ['lab-c'],
      reason: 'never-synced',
    });
    expect(planRefresh(admin, [], {}, ['lab-a'])).toEqual({ clusterIds: ['lab-a'], reason: 'never-synced' });
  });

  it("never widens a student's scope with configured clusters", () => {
    expect(planRefresh(student, [synced('lab-b')], {}, ['lab-a', 'lab-b'])).toBeNull();
  });
});

describe('configuredClusterIdsFromEnv', () => {
  it('reads a comma-separated list and ignores blanks', () => {
    expect(configuredClusterIdsFromEnv({ CONFIGURED_CLUSTER_IDS: 'lab-a, lab-b,,' })).toEqual([
      'lab-a',
      'lab-b',
    ]);
    expect(configuredClusterIdsFromEnv({})).toEqual([]);
  });
});

describe('refreshVmids', () => {
  const withGuests = (id: string, total: number): ClusterState =>
    ClusterStateSchema.parse({
      cluster_id: id,
      last_success_at: 1_000,
      counts: { total, running: 0, error: 0, templates: 0 },
    });
  const keys = (cluster_id: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ cluster_id, vmid: 100 + i }));
  const noListing = async (): Promise<number[]> => {
    throw new Error('the table must not be read for this scope');
  };

  it("re-reads every VM of a caller's scope of at most 50, per refreshed cluster", async () => {
    const scope = {
      all: false,
      keys: [...keys('lab-a', 30), ...keys('lab-b', 20), ...keys('lab-c', 5)],
    } as const;
    const byCluster = await refreshVmids(scope, ['lab-a', 'lab-b'], [], noListing);
    expect(byCluster?.get('lab-a')).toHaveLength(30);
    expect(byCluster?.get('lab-b')).toEqual(keys('lab-b', 20).map((key) => key.vmid));
    expect(byCluster?.has('lab-c')).toBe(false);
  });

  it('refreshes status only for more than 50 VMs in scope', async () => {
    const scope = { all: false, keys: [...keys('lab-a', 30), ...keys('lab-b', 21)] } as const;
    expect(await refreshVmids(scope, ['lab-a', 'lab-b'], [], noListing)).toBeNull();
  });

  it("counts an admin's scope from the clusters' states and lists it only when small", async () => {
    const listed: string[] = [];
    const list = async (clusterId: string) => {
      listed.push(clusterId);
      return [101, 102];
    };
    expect(
      await refreshVmids(admin, ['lab-a', 'lab-b'], [withGuests('lab-a', 40), withGuests('lab-b', 11)], list),
    ).toBeNull();
    expect(listed).toEqual([]);
    const small = await refreshVmids(
      admin,
      ['lab-a'],
      [withGuests('lab-a', 2), withGuests('lab-b', 90)],
      list,
    );
    expect([...(small?.entries() ?? [])]).toEqual([['lab-a', [101, 102]]]);
    expect(listed).toEqual(['lab-a']);
  });
});

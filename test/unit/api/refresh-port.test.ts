import { describe, expect, it } from 'vitest';
import { configuredClusterIdsFromEnv, planRefresh } from '#shared/api/refresh-port.ts';
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

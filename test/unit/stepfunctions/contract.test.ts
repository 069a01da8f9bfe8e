import { describe, expect, it } from 'vitest';
import {
  QUICK_LIST_TASK_SECONDS,
  QUICK_RECORD_TASK_SECONDS,
  QUICK_SYNC_TIMEOUT_SECONDS,
  QUICK_TASK_MIN_SECONDS,
  QuickSyncBudgetError,
  quickSyncTiming,
} from '#infra/constructs/sync-state-machines.ts';
import { METRICS_NAMESPACE } from '#shared/observability/powertools.ts';
import {
  InvalidTaskPayloadError,
  MAX_REFRESH_VMIDS,
  parseTaskPayload,
  RecordRunInputSchema,
  SyncClusterInputSchema,
  SyncSummarySchema,
  syncTaskRoleOf,
} from '#shared/sync/contract.ts';
import { SYNC_METRICS_NAMESPACE } from '#shared/sync/metrics-names.ts';

describe('sync task contract', () => {
  it("bounds a refresh's VMIDs at 50 and names the field", () => {
    const vmids = Array.from({ length: MAX_REFRESH_VMIDS }, (_, i) => 100 + i);
    expect(
      parseTaskPayload(
        SyncClusterInputSchema,
        { cluster_id: 'lab-a', mode: 'quick', vmids },
        'SyncCluster input',
      ).vmids,
    ).toHaveLength(50);
    expect(() =>
      parseTaskPayload(
        SyncClusterInputSchema,
        { cluster_id: 'lab-a', mode: 'quick', vmids: [...vmids, 999] },
        'SyncCluster input',
      ),
    ).toThrow(/SyncCluster input: vmids/);
  });

  it('accepts a Map result that is either a summary or the Catch’s failure record', () => {
    const input = parseTaskPayload(
      RecordRunInputSchema,
      {
        mode: 'full',
        results: [
          {
            cluster_id: 'lab-a',
            mode: 'full',
            ok: true,
            vms: 3,
            changed: 1,
            writes: 2,
            proxmox_calls: 4,
            duration_ms: 12,
          },
          { cluster_id: 'lab-b', ok: false, error: '{"Error":"Sandbox.Timedout"}' },
        ],
      },
      'RecordRun input',
    );
    expect(input.results.map((r) => r.ok)).toEqual([true, false]);
  });

  it('names every bad field of an invalid payload', () => {
    expect(() =>
      parseTaskPayload(
        SyncSummarySchema,
        { cluster_id: 'Lab A', mode: 'full', ok: true },
        'SyncCluster output',
      ),
    ).toThrow(InvalidTaskPayloadError);
    expect(() => parseTaskPayload(SyncSummarySchema, { cluster_id: 'Lab A' }, 'SyncCluster output')).toThrow(
      /SyncCluster output: cluster_id: not a valid cluster id; mode: .*vms:/,
    );
  });

  it('maps the task state names of both machines to their handler roles', () => {
    expect(
      ['ListClusters', 'SyncCluster', 'SyncCluster3', 'RecordRun', 'RecordRun2'].map(syncTaskRoleOf),
    ).toEqual(['listClusters', 'syncCluster', 'syncCluster', 'recordRun', 'recordRun']);
    expect(syncTaskRoleOf('SyncClusters')).toBeUndefined();
    expect(syncTaskRoleOf('SyncClusterFailed1')).toBeUndefined();
  });
});

describe('quickSyncTiming', () => {
  it('adds up for every allowed interval, cluster count and Map concurrency, or refuses naming the setting', () => {
    let fitting = 0;
    for (const interval of [15, 20, 30]) {
      for (let clusters = 1; clusters <= 100; clusters++) {
        for (let concurrency = 1; concurrency <= 40; concurrency++) {
          let timing: ReturnType<typeof quickSyncTiming>;
          try {
            timing = quickSyncTiming(interval, clusters, concurrency);
          } catch (error) {
            expect(error).toBeInstanceOf(QuickSyncBudgetError);
            expect(String(error)).toMatch(/pveInventory\.quickSyncSeconds: \d+ s cannot fit/);
            expect(String(error)).toMatch(/Use quickSyncSeconds: 30|covers at most \d+ clusters/);
            continue;
          }
          fitting += 1;
          const rounds = Math.ceil(clusters / concurrency);
          const worst =
            QUICK_LIST_TASK_SECONDS +
            rounds * (timing.passes * timing.taskTimeoutSeconds + (timing.passes - 1) * interval) +
            QUICK_RECORD_TASK_SECONDS;
          expect(timing.passes * interval).toBe(60);
          expect(timing.rounds).toBe(rounds);
          expect(timing.worstCaseSeconds).toBe(worst);
          expect(worst).toBeLessThan(QUICK_SYNC_TIMEOUT_SECONDS);
          expect(timing.taskTimeoutSeconds).toBeGreaterThanOrEqual(QUICK_TASK_MIN_SECONDS);
        }
      }
    }
    expect(fitting).toBeGreaterThan(0);
  });

  it('refuses 15 and 20 s (their waits leave no room for the passes) and accepts 30 s up to 40 clusters', () => {
    expect(() => quickSyncTiming(15, 1, 10)).toThrow(/15 s cannot fit .*Use quickSyncSeconds: 30/);
    expect(() => quickSyncTiming(20, 1, 10)).toThrow(/20 s cannot fit .*Use quickSyncSeconds: 30/);
    expect(quickSyncTiming(30, 2)).toMatchObject({
      passes: 2,
      waitSeconds: 30,
      rounds: 1,
      taskTimeoutSeconds: 10,
    });
    expect(() => quickSyncTiming(30, 41)).toThrow(/covers at most 40 clusters/);
  });

  it('rejects an interval that does not divide the minute evenly', () => {
    expect(() => quickSyncTiming(25)).toThrow(RangeError);
  });
});

describe('sync metrics', () => {
  it('are emitted in the namespace the dashboard reads', () => {
    expect(METRICS_NAMESPACE).toBe(SYNC_METRICS_NAMESPACE);
  });
});

import { describe, expect, it } from 'vitest';
import { QUICK_SYNC_TIMEOUT_SECONDS, quickSyncTiming } from '#infra/constructs/sync-state-machines.ts';
import { METRICS_NAMESPACE } from '#shared/observability/powertools.ts';
import {
  InvalidTaskPayloadError,
  parseTaskPayload,
  RecordRunInputSchema,
  SyncSummarySchema,
  syncTaskRoleOf,
} from '#shared/sync/contract.ts';
import { SYNC_METRICS_NAMESPACE } from '#shared/sync/metrics-names.ts';

describe('sync task contract', () => {
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
  it('fits every pass and wait in the quick machine’s timeout when tasks finish in time', () => {
    for (const interval of [15, 20, 30]) {
      const timing = quickSyncTiming(interval);
      expect(timing.passes * interval).toBe(60);
      expect(timing.waitSeconds).toBe(interval);
      expect(timing.taskTimeoutSeconds).toBeGreaterThanOrEqual(5);
    }
    const relaxed = quickSyncTiming(30);
    expect(relaxed.waitSeconds + relaxed.passes * relaxed.taskTimeoutSeconds).toBeLessThan(
      QUICK_SYNC_TIMEOUT_SECONDS,
    );
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

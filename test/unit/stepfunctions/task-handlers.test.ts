import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SyncService } from '#shared/sync/contract.ts';

const service = vi.hoisted(() => ({
  listClusters: vi.fn<SyncService['listClusters']>(),
  syncCluster: vi.fn<SyncService['syncCluster']>(),
  recordRun: vi.fn<SyncService['recordRun']>(),
}));
vi.mock('#shared/sync/service.ts', () => ({ getSyncService: async () => service }));

const { handler: listClusters } = await import('#functions/sync/list-clusters.ts');
const { handler: syncCluster } = await import('#functions/sync/sync-cluster.ts');
const { handler: recordRun } = await import('#functions/sync/record-run.ts');

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'sync-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sync-test',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/sync-test',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

describe('sync task handlers', () => {
  beforeEach(() => {
    vi.clearAllMocks();
  });

  it('list-clusters passes the validated input to the service and returns its output', async () => {
    service.listClusters.mockResolvedValue({
      mode: 'full',
      clusters: [{ cluster_id: 'lab-a', mode: 'full', manual: false }],
    });

    const output = await listClusters({ mode: 'full', cluster_id: 'lab-a' }, context);

    expect(service.listClusters).toHaveBeenCalledWith({ mode: 'full', cluster_id: 'lab-a' });
    expect(output).toEqual({
      mode: 'full',
      clusters: [{ cluster_id: 'lab-a', mode: 'full', manual: false }],
    });
  });

  it('sync-cluster rejects a payload outside the contract without calling the engine', async () => {
    await expect(syncCluster({ cluster_id: 'lab-a', mode: 'sometimes' }, context)).rejects.toThrow(
      /SyncCluster input: mode/,
    );
    expect(service.syncCluster).not.toHaveBeenCalled();
  });

  it('sync-cluster returns the engine’s summary, a Proxmox failure included', async () => {
    const summary = {
      cluster_id: 'lab-a',
      mode: 'quick' as const,
      ok: false,
      vms: 0,
      changed: 0,
      writes: 1,
      proxmox_calls: 1,
      duration_ms: 40,
      error: 'connection refused',
    };
    service.syncCluster.mockResolvedValue(summary);

    await expect(syncCluster({ cluster_id: 'lab-a', mode: 'quick' }, context)).resolves.toEqual(summary);
  });

  it('record-run refuses an engine answer that breaks the contract', async () => {
    service.recordRun.mockResolvedValue({ mode: 'full', clusters: 1, ok: -1, failed: 0 });

    await expect(recordRun({ mode: 'full', results: [] }, context)).rejects.toThrow(/RecordRun output: ok/);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { powertoolsMetricsSink } from '#shared/sync/metrics.ts';
import {
  CLUSTER_SERIES_METRICS,
  FLEET_SERIES_METRICS,
  SYNC_SERVICE_NAME,
  SyncMetric,
  syncMetricSeries,
} from '#shared/sync/metrics-names.ts';

const EmfSchema = z.looseObject({
  _aws: z.object({
    CloudWatchMetrics: z.array(
      z.object({
        Dimensions: z.array(z.array(z.string())),
        Metrics: z.array(z.object({ Name: z.string() })),
      }),
    ),
  }),
});

describe('sync metric series', () => {
  it('puts every sync metric in exactly one of the per-cluster and fleet-wide groups', () => {
    const all = [...CLUSTER_SERIES_METRICS, ...FLEET_SERIES_METRICS].sort();
    expect(all).toEqual(Object.values(SyncMetric).sort());
  });

  it('bills one series per cluster only for the alarmed metrics', () => {
    expect(CLUSTER_SERIES_METRICS).toEqual([SyncMetric.Errors, SyncMetric.SecondsSinceLastSuccess]);
    expect(syncMetricSeries(5)).toBe(2 * 5 + 5);
  });
});

describe('powertoolsMetricsSink', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('emits the alarmed metrics with a cluster_id dimension and the others fleet-wide with cluster_id as a property', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    powertoolsMetricsSink().publishClusterRun({
      clusterId: 'lab-a',
      durationMs: 120,
      guests: 40,
      changed: 2,
      writes: 3,
      errors: 0,
      secondsSinceLastSuccess: 30,
      proxmoxCalls: 1,
    });
    vi.mocked(process.stdout.write).mockRestore();
    const docs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('CloudWatchMetrics'))
      .map((l) => EmfSchema.parse(JSON.parse(l)));
    expect(docs).toHaveLength(2);
    const byDims = new Map(
      docs.map((d) => [
        JSON.stringify(d._aws.CloudWatchMetrics[0]?.Dimensions),
        { doc: d, names: d._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name).sort() },
      ]),
    );
    const perCluster = byDims.get(JSON.stringify([['service', 'cluster_id']]));
    const fleet = byDims.get(JSON.stringify([['service']]));
    expect(perCluster?.names).toEqual([...CLUSTER_SERIES_METRICS].sort());
    expect(perCluster?.doc).toMatchObject({ service: SYNC_SERVICE_NAME, cluster_id: 'lab-a', Errors: 0 });
    expect(fleet?.names).toEqual([...FLEET_SERIES_METRICS].sort());
    expect(fleet?.doc).toMatchObject({ service: SYNC_SERVICE_NAME, cluster_id: 'lab-a', SyncDuration: 120 });
  });
});

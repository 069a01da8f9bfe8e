import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  // The handlers print their EMF documents as in Lambda; the logger stays quiet.
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_DEV = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_SERVICE_NAME = 'pve-inventory-api';
  // As the Lambda runtime sets it: Powertools only reports a cold start for on-demand instances.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

import { createLambdaContext } from '#local/gateway/server.ts';
import { powertoolsMetricsSink } from '#shared/sync/metrics.ts';
import { SYNC_SERVICE_NAME, SyncMetric } from '#shared/sync/metrics-names.ts';
import { customMetricSeriesCount, metricSeries } from '../../../../bench/lib/metric-series.ts';

/** The series in the EMF documents written to stdout while `fn` runs. */
async function emittedSeries(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  try {
    await fn();
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
  const series: string[] = [];
  for (const line of lines.flatMap((chunk) => chunk.split('\n'))) {
    if (!line.includes('"_aws"')) continue;
    const emf = JSON.parse(line) as {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
      [key: string]: unknown;
    };
    for (const directive of emf._aws.CloudWatchMetrics) {
      for (const dimensionSet of directive.Dimensions) {
        const dimensions = Object.fromEntries(dimensionSet.map((name) => [name, String(emf[name])]));
        for (const metric of directive.Metrics) {
          series.push(key({ namespace: directive.Namespace, name: metric.Name, dimensions }));
        }
      }
    }
  }
  return [...new Set(series)].sort();
}

const key = (s: { namespace: string; name: string; dimensions: Readonly<Record<string, string>> }) =>
  `${s.namespace}/${s.name} ${JSON.stringify(Object.fromEntries(Object.entries(s.dimensions).sort()))}`;

describe('metric series of the cost model', () => {
  beforeEach(() => vi.resetModules());
  afterEach(() => vi.restoreAllMocks());

  it('include every series an API function prints (the request and error counters, no cold start)', async () => {
    const { handler } = await import('#functions/api/openapi.ts');
    const context: Context = createLambdaContext('getOpenApi', 'req-1', Date.now() + 10_000);
    const event = (path: string) => ({
      version: '2.0',
      routeKey: 'GET /api/openapi.json',
      rawPath: path,
      rawQueryString: 'unexpected=1',
      headers: {},
      queryStringParameters: { unexpected: '1' },
      requestContext: { http: { method: 'GET', path }, requestId: 'req-1' },
      isBase64Encoded: false,
    });
    const emitted = await emittedSeries(async () => {
      await handler(event('/api/openapi.json') as never, context);
      await handler(event('/api/openapi.json') as never, context);
    });
    const modelled = new Set(metricSeries({ clusterIds: [] }).map(key));
    expect(emitted.some((s) => s.includes('/ApiRequests '))).toBe(true);
    expect(emitted.some((s) => s.includes('/ColdStart '))).toBe(false);
    for (const series of emitted) expect(modelled, series).toContain(series);
  });

  it('include every series the catch-all of unknown routes ($default) prints: no series of its own', async () => {
    const { handler } = await import('#functions/api/not-found.ts');
    const context: Context = createLambdaContext('notFound', 'req-2', Date.now() + 10_000);
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/api/nowhere',
      rawQueryString: '',
      headers: {},
      requestContext: { http: { method: 'GET', path: '/api/nowhere' }, requestId: 'req-2' },
      isBase64Encoded: false,
    };
    let status: number | undefined;
    const emitted = await emittedSeries(async () => {
      status = (await handler(event as never, context)).statusCode;
    });
    expect(status).toBe(404);
    const modelled = new Set(metricSeries({ clusterIds: [] }).map(key));
    expect(emitted.some((s) => s.includes('/ApiClientErrors '))).toBe(true);
    for (const series of emitted) expect(modelled, series).toContain(series);
  });

  it('include every series a cluster’s sync run prints', async () => {
    const emitted = await emittedSeries(async () => {
      powertoolsMetricsSink().publishClusterRun({
        clusterId: 'lab-a',
        durationMs: 1200,
        guests: 10,
        changed: 2,
        writes: 3,
        errors: 0,
        secondsSinceLastSuccess: 0,
        proxmoxCalls: 12,
      });
    });
    const modelled = new Set(metricSeries({ clusterIds: ['lab-a'] }).map(key));
    expect(emitted).toHaveLength(Object.keys(SyncMetric).length);
    for (const series of emitted) {
      expect(series).toContain(SYNC_SERVICE_NAME);
      expect(modelled, series).toContain(series);
    }
  });

  it('count 2 per cluster, 5 fleet-wide sync series and 3 API counters', () => {
    expect(customMetricSeriesCount(5) - customMetricSeriesCount(4)).toBe(2);
    expect(customMetricSeriesCount(5)).toBe(5 * 2 + 5 + 3);
  });
});

import { API_SERVICE_NAME } from '#infra/constructs/api-handlers.ts';
import { API_METRICS } from '#shared/http/middleware.ts';
import { routeList } from '#shared/http/routes.ts';
import { METRICS_NAMESPACE } from '#shared/observability/powertools.ts';
import {
  CLUSTER_ID_DIMENSION,
  SYNC_METRICS_NAMESPACE,
  SYNC_SERVICE_NAME,
  SyncMetric,
} from '#shared/sync/metrics-names.ts';

/**
 * Every custom CloudWatch metric series the deployed code emits (EMF), each billed as one custom
 * metric: a series is a namespace, a metric name and one set of dimension values. Enumerated from
 * the same names the code uses; test/unit/bench/lib/metric-series.test.ts checks it against the
 * EMF the handlers really print.
 */
export interface MetricSeries {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value, as emitted. */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Powertools' cold-start metric of a function (`captureColdStartMetric`): one series per function. */
export const COLD_START_METRIC = 'ColdStart';

/**
 * The series for a deployment: per cluster the sync metrics (dimensions `service`, `cluster_id`);
 * the API's request and error counters (dimension `service`, shared by every API function); and
 * one cold-start series per API function (dimensions `service`, `function_name`). The sync
 * handlers capture no cold start and emit nothing else.
 */
export function metricSeries(input: {
  readonly clusterIds: readonly string[];
  /** Deployed names of the API functions (one per route). @default the route ids */
  readonly apiFunctionNames?: readonly string[];
}): MetricSeries[] {
  const series: MetricSeries[] = [];
  for (const clusterId of input.clusterIds) {
    for (const name of Object.values(SyncMetric)) {
      series.push({
        namespace: SYNC_METRICS_NAMESPACE,
        name,
        dimensions: { service: SYNC_SERVICE_NAME, [CLUSTER_ID_DIMENSION]: clusterId },
      });
    }
  }
  for (const name of Object.values(API_METRICS)) {
    series.push({ namespace: METRICS_NAMESPACE, name, dimensions: { service: API_SERVICE_NAME } });
  }
  for (const functionName of input.apiFunctionNames ?? routeList.map((route) => route.id)) {
    series.push({
      namespace: METRICS_NAMESPACE,
      name: COLD_START_METRIC,
      dimensions: { service: API_SERVICE_NAME, function_name: functionName },
    });
  }
  return series;
}

/** How many custom metric series a deployment with `clusters` clusters is billed for. */
export function customMetricSeriesCount(clusters: number): number {
  return metricSeries({ clusterIds: Array.from({ length: clusters }, (_, i) => `cluster-${i}`) }).length;
}

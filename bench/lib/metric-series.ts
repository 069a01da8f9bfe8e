import { API_SERVICE_NAME } from '#infra/constructs/api-handlers.ts';
import { API_METRICS } from '#shared/http/middleware.ts';
import { METRICS_NAMESPACE } from '#shared/observability/powertools.ts';
import {
  CLUSTER_ID_DIMENSION,
  CLUSTER_SERIES_METRICS,
  FLEET_SERIES_METRICS,
  SYNC_METRICS_NAMESPACE,
  SYNC_SERVICE_NAME,
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

/**
 * The series for a deployment: per cluster the alarmed sync metrics (dimensions `service`,
 * `cluster_id`); the other sync metrics once for the fleet (dimension `service`); and the API's
 * request and error counters (dimension `service`, shared by every API function). No function
 * captures a cold-start metric (it would be one series per function).
 */
export function metricSeries(input: { readonly clusterIds: readonly string[] }): MetricSeries[] {
  const series: MetricSeries[] = [];
  for (const clusterId of input.clusterIds) {
    for (const name of CLUSTER_SERIES_METRICS) {
      series.push({
        namespace: SYNC_METRICS_NAMESPACE,
        name,
        dimensions: { service: SYNC_SERVICE_NAME, [CLUSTER_ID_DIMENSION]: clusterId },
      });
    }
  }
  if (input.clusterIds.length > 0) {
    for (const name of FLEET_SERIES_METRICS) {
      series.push({ namespace: SYNC_METRICS_NAMESPACE, name, dimensions: { service: SYNC_SERVICE_NAME } });
    }
  }
  for (const name of Object.values(API_METRICS)) {
    series.push({ namespace: METRICS_NAMESPACE, name, dimensions: { service: API_SERVICE_NAME } });
  }
  return series;
}

/** How many custom metric series a deployment with `clusters` clusters is billed for. */
export function customMetricSeriesCount(clusters: number): number {
  return metricSeries({ clusterIds: Array.from({ length: clusters }, (_, i) => `cluster-${i}`) }).length;
}

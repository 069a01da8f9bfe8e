import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CLUSTER_ID_DIMENSION,
  CLUSTER_SERIES_METRICS,
  SYNC_METRIC_UNITS,
  SYNC_METRICS_NAMESPACE,
  SYNC_SERVICE_NAME,
  SyncMetric,
  type SyncMetricName,
} from './metrics-names.ts';

/** The per-cluster values of one sync run (metrics-names.ts says what each one means). */
export interface ClusterRunMetrics {
  clusterId: string;
  durationMs: number;
  /** guests the last successful listing returned; null when this run listed nothing */
  guests: number | null;
  changed: number;
  writes: number;
  /** consecutive failed syncs after this run */
  errors: number;
  /** null when the cluster never synced successfully */
  secondsSinceLastSuccess: number | null;
  proxmoxCalls: number;
}

/** Where the engine sends its per-cluster metrics (Powertools EMF in Lambda, a recorder in tests). */
export interface SyncMetricsSink {
  publishClusterRun(values: ClusterRunMetrics): void;
}

/** The metric name → value pairs of a run, leaving out values that are not known. */
export function clusterRunMetricValues(values: ClusterRunMetrics): [SyncMetricName, number][] {
  const out: [SyncMetricName, number][] = [
    [SyncMetric.SyncDuration, values.durationMs],
    [SyncMetric.Changed, values.changed],
    [SyncMetric.Writes, values.writes],
    [SyncMetric.Errors, values.errors],
    [SyncMetric.ProxmoxCalls, values.proxmoxCalls],
  ];
  if (values.guests !== null) out.push([SyncMetric.Guests, values.guests]);
  if (values.secondsSinceLastSuccess !== null)
    out.push([SyncMetric.SecondsSinceLastSuccess, values.secondsSinceLastSuccess]);
  return out;
}

/**
 * Powertools EMF sink: per cluster run, one EMF document for the alarmed metrics with the dimensions
 * `service` and `cluster_id` (one series per cluster), and one for the others with `service` only
 * (one fleet-wide series each) that still carries `cluster_id` as a plain property for Logs
 * Insights. A Metrics instance per document keeps concurrent runs in one process from mixing their
 * dimensions.
 */
export function powertoolsMetricsSink(): SyncMetricsSink {
  return {
    publishClusterRun(values) {
      const perCluster = new Metrics({ namespace: SYNC_METRICS_NAMESPACE, serviceName: SYNC_SERVICE_NAME });
      perCluster.addDimension(CLUSTER_ID_DIMENSION, values.clusterId);
      const fleet = new Metrics({ namespace: SYNC_METRICS_NAMESPACE, serviceName: SYNC_SERVICE_NAME });
      fleet.addMetadata(CLUSTER_ID_DIMENSION, values.clusterId);
      for (const [name, value] of clusterRunMetricValues(values)) {
        const target = CLUSTER_SERIES_METRICS.includes(name) ? perCluster : fleet;
        target.addMetric(name, SYNC_METRIC_UNITS[name], value);
      }
      perCluster.publishStoredMetrics();
      fleet.publishStoredMetrics();
    },
  };
}

/** A sink that drops everything (default outside Lambda when nothing is injected). */
export const noMetrics: SyncMetricsSink = { publishClusterRun() {} };

import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CLUSTER_ID_DIMENSION,
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
 * Powertools EMF sink: one EMF document per cluster run with the dimensions `service` and
 * `cluster_id`. A Metrics instance per run keeps concurrent runs in one process from mixing
 * their dimensions.
 */
export function powertoolsMetricsSink(): SyncMetricsSink {
  return {
    publishClusterRun(values) {
      const metrics = new Metrics({ namespace: SYNC_METRICS_NAMESPACE, serviceName: SYNC_SERVICE_NAME });
      metrics.addDimension(CLUSTER_ID_DIMENSION, values.clusterId);
      for (const [name, value] of clusterRunMetricValues(values)) {
        metrics.addMetric(name, SYNC_METRIC_UNITS[name], value);
      }
      metrics.publishStoredMetrics();
    },
  };
}

/** A sink that drops everything (default outside Lambda when nothing is injected). */
export const noMetrics: SyncMetricsSink = { publishClusterRun() {} };

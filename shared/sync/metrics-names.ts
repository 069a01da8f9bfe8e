/**
 * The one definition of the sync's custom CloudWatch metrics. The engine emits exactly these names
 * (Powertools Metrics, EMF) and the CDK dashboard and alarms read exactly these names, so the two
 * can never drift apart. Every metric name × `cluster_id` value is a billed custom metric series:
 * add a metric here only when an alarm or the dashboard needs it.
 */

/** CloudWatch namespace of every custom sync metric. */
export const SYNC_METRICS_NAMESPACE = 'PveInventory';

/**
 * `service` dimension value: the CDK sets `POWERTOOLS_SERVICE_NAME` of every sync function to it,
 * and Powertools adds it to every metric (`shared/observability/powertools.ts`). All sync functions
 * share it, so one metric series exists per cluster, not per function.
 */
export const SYNC_SERVICE_NAME = 'pve-inventory-sync';

/** Dimension names, in the order the engine sets them (`service` is added by Powertools). */
export const SYNC_METRIC_DIMENSIONS = ['service', 'cluster_id'] as const;

/** Dimension holding the cluster id (contract 1 `clusters[].id`). */
export const CLUSTER_ID_DIMENSION = 'cluster_id';

/**
 * Per-cluster metrics emitted once per sync run of a cluster (full and quick alike), with the
 * dimensions `service` = {@link SYNC_SERVICE_NAME} and `cluster_id`.
 */
export const SyncMetric = {
  /** Wall time of the cluster's sync run. Unit: Milliseconds. */
  SyncDuration: 'SyncDuration',
  /** Guests the last successful listing returned. Unit: Count. */
  Guests: 'Guests',
  /** Guests whose stored data changed in this run. Unit: Count. */
  Changed: 'Changed',
  /** DynamoDB items written in this run. Unit: Count. */
  Writes: 'Writes',
  /**
   * The cluster's consecutive failed syncs after this run (0 after a success), as kept in the sync
   * state; emitted on every run, including runs skipped for backoff. A gauge, so the "consecutive
   * errors" alarm is a plain `Maximum >= threshold`. Unit: Count.
   */
  Errors: 'Errors',
  /** Seconds since the cluster's last successful sync (either kind), at the end of the run. Unit: Seconds. */
  SecondsSinceLastSuccess: 'SecondsSinceLastSuccess',
  /** Proxmox API calls made by this run (all endpoint classes together). Unit: Count. */
  ProxmoxCalls: 'ProxmoxCalls',
} as const;

export type SyncMetricName = (typeof SyncMetric)[keyof typeof SyncMetric];

/** CloudWatch unit of each metric, as the engine must emit it (the dashboard does not filter on it). */
export const SYNC_METRIC_UNITS: Readonly<Record<SyncMetricName, 'Milliseconds' | 'Count' | 'Seconds'>> = {
  SyncDuration: 'Milliseconds',
  Guests: 'Count',
  Changed: 'Count',
  Writes: 'Count',
  Errors: 'Count',
  SecondsSinceLastSuccess: 'Seconds',
  ProxmoxCalls: 'Count',
};

/**
 * Metrics kept as one series per cluster (`service`, `cluster_id`): the ones the per-cluster alarms
 * read. Each costs one billed custom metric per cluster.
 */
export const CLUSTER_SERIES_METRICS: readonly SyncMetricName[] = [
  SyncMetric.Errors,
  SyncMetric.SecondsSinceLastSuccess,
];

/**
 * Metrics kept as one fleet-wide series (`service` only): the dashboard graphs them for the whole
 * fleet. Their per-cluster values stay in the same EMF log line (with `cluster_id` as a property),
 * so CloudWatch Logs Insights can still break them down by cluster at read time without a billed
 * series per cluster.
 */
export const FLEET_SERIES_METRICS: readonly SyncMetricName[] = [
  SyncMetric.SyncDuration,
  SyncMetric.Guests,
  SyncMetric.Changed,
  SyncMetric.Writes,
  SyncMetric.ProxmoxCalls,
];

/** Billed custom metric series of the sync for a number of clusters. */
export function syncMetricSeries(clusters: number): number {
  return CLUSTER_SERIES_METRICS.length * clusters + FLEET_SERIES_METRICS.length;
}

/** A cluster that has not synced successfully for longer than this raises the staleness alarm. */
export const STALE_CLUSTER_ALARM_SECONDS = 600;

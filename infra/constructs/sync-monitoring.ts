import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CLUSTER_ID_DIMENSION,
  STALE_CLUSTER_ALARM_SECONDS,
  SYNC_METRICS_NAMESPACE,
  SYNC_SERVICE_NAME,
  SyncMetric,
  type SyncMetricName,
} from '#shared/sync/metrics-names.ts';

/** Properties of {@link SyncMonitoring}. */
export interface SyncMonitoringProps {
  /** Cluster ids from the clusters file: one metric line and two alarms per cluster. */
  readonly clusterIds: readonly string[];
  readonly fullSync: StateMachine;
  readonly quickSync: StateMachine;
  /** The sync functions, by display name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * The function that syncs one cluster: a run killed at its timeout (or crashed) is caught inside
   * the Map, so the execution succeeds; its function errors raise an alarm of their own, and so do
   * its throttles (Map iterations that could not run).
   */
  readonly syncClusterFunction?: IFunction;
  /** Consecutive failed syncs of a cluster that raise an alarm. @default 5 */
  readonly consecutiveErrorThreshold?: number;
  /** Optional e-mail subscription to the alarm topic. */
  readonly alarmEmail?: string;
}

/** A fleet-wide custom metric as the engine emits it (`service` dimension only, see metrics-names.ts). */
export function fleetMetric(name: SyncMetricName, statistic: string, period: Duration): Metric {
  return new Metric({
    namespace: SYNC_METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SYNC_SERVICE_NAME },
    statistic,
    period,
    label: `${name} (all clusters)`,
  });
}

/** The per-cluster custom metric as the engine emits it (namespace and dimensions from metrics-names.ts). */
export function clusterMetric(
  name: SyncMetricName,
  clusterId: string,
  statistic: string,
  period: Duration,
  label?: string,
): Metric {
  return new Metric({
    namespace: SYNC_METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SYNC_SERVICE_NAME, [CLUSTER_ID_DIMENSION]: clusterId },
    statistic,
    period,
    label,
  });
}

/**
 * The "sync health" dashboard and the sync alarms, which notify an SNS topic: a cluster not synced
 * successfully for more than 10 minutes, a cluster failing `consecutiveErrorThreshold` times in a
 * row, and failed or timed-out state machine executions.
 */
export class SyncMonitoring extends Construct {
  public readonly dashboard: Dashboard;
  /** The alarm topic (sync and API alarms), encrypted and refusing non-TLS publishers. */
  public readonly alarmTopic: Topic;
  public readonly alarmKey: Key;
  /** Throttled sync-cluster invocations (Map iterations caught as `SyncClusterThrottled`). */
  public readonly throttleAlarm?: Alarm;
  public readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: SyncMonitoringProps) {
    super(scope, id);
    const threshold = props.consecutiveErrorThreshold ?? 5;
    const fiveMinutes = Duration.minutes(5);

    // Encrypted with a customer-managed key: CloudWatch alarms cannot publish to a topic under the
    // AWS-managed SNS key, whose policy cannot grant them.
    this.alarmKey = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the pve-inventory alarm topic',
      enableKeyRotation: true,
    });
    this.alarmKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'pve-inventory alarms',
      masterKey: this.alarmKey,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOnly',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const notify = new SnsAction(this.alarmTopic);

    for (const clusterId of props.clusterIds) {
      const stale = new Alarm(this, `Stale-${clusterId}`, {
        alarmDescription: `Cluster ${clusterId} has not synced successfully for more than ${STALE_CLUSTER_ALARM_SECONDS / 60} minutes (or no sync ran)`,
        metric: clusterMetric(SyncMetric.SecondsSinceLastSuccess, clusterId, 'Maximum', fiveMinutes),
        threshold: STALE_CLUSTER_ALARM_SECONDS,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No data means no sync reported at all: that is the worst kind of stale.
        treatMissingData: TreatMissingData.BREACHING,
      });
      const failing = new Alarm(this, `ConsecutiveErrors-${clusterId}`, {
        alarmDescription: `Cluster ${clusterId} failed ${threshold} or more syncs in a row`,
        metric: clusterMetric(SyncMetric.Errors, clusterId, 'Maximum', fiveMinutes),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(stale, failing);
    }
    for (const [name, machine] of [
      ['Full', props.fullSync],
      ['Quick', props.quickSync],
    ] as const) {
      const failedOrTimedOut = new MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: machine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
          timedOut: machine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
        },
        period: fiveMinutes,
        label: `${name} sync executions failed or timed out`,
      });
      this.alarms.push(
        new Alarm(this, `${name}SyncExecutionsFailed`, {
          alarmDescription: `${name}-sync state machine executions failed or timed out`,
          metric: failedOrTimedOut,
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.syncClusterFunction) {
      this.alarms.push(
        new Alarm(this, 'SyncClusterTaskFailures', {
          alarmDescription:
            'A cluster sync was killed at the Lambda timeout or crashed (the run stops itself before the timeout, so this means it could not)',
          metric: props.syncClusterFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      this.throttleAlarm = new Alarm(this, 'SyncClusterThrottled', {
        alarmDescription:
          'sync-cluster invocations were throttled (reserved concurrency or the account pool exhausted): some clusters were not synced',
        metric: props.syncClusterFunction.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(this.throttleAlarm);
    }
    for (const alarm of this.alarms) alarm.addAlarmAction(notify);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-sync-health`,
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Sync health\nFleet-wide: duration, guests, changes, writes and Proxmox calls (per-cluster values: Logs Insights on the sync function log, field `cluster_id`); per cluster: consecutive errors and seconds since the last successful sync; then the state machines and the sync functions.',
        width: 24,
        height: 2,
      }),
    );
    const perCluster = (title: string, name: SyncMetricName, statistic: string): GraphWidget =>
      new GraphWidget({
        title,
        width: 8,
        left: props.clusterIds.map((clusterId) =>
          clusterMetric(name, clusterId, statistic, Duration.minutes(1), clusterId),
        ),
      });
    const fleet = (title: string, name: SyncMetricName, statistic: string): GraphWidget =>
      new GraphWidget({ title, width: 8, left: [fleetMetric(name, statistic, Duration.minutes(1))] });
    this.dashboard.addWidgets(
      fleet('Sync duration (ms, max)', SyncMetric.SyncDuration, 'Maximum'),
      fleet('Guests (sum of cluster runs)', SyncMetric.Guests, 'Sum'),
      fleet('Changed guests (sum)', SyncMetric.Changed, 'Sum'),
    );
    this.dashboard.addWidgets(
      fleet('DynamoDB writes (sum)', SyncMetric.Writes, 'Sum'),
      perCluster('Consecutive errors', SyncMetric.Errors, 'Maximum'),
      perCluster('Seconds since last success', SyncMetric.SecondsSinceLastSuccess, 'Maximum'),
    );
    const machineMetrics = (machine: StateMachine, name: string): IMetric[] => [
      machine.metricFailed({ period: fiveMinutes, statistic: 'Sum', label: `${name} failed` }),
      machine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum', label: `${name} timed out` }),
    ];
    const functions = Object.entries(props.functions);
    this.dashboard.addWidgets(
      fleet('Proxmox calls (sum)', SyncMetric.ProxmoxCalls, 'Sum'),
      new GraphWidget({
        title: 'Executions failed / timed out',
        width: 8,
        left: [...machineMetrics(props.fullSync, 'full'), ...machineMetrics(props.quickSync, 'quick')],
      }),
      new GraphWidget({
        title: 'Lambda errors / throttles',
        width: 8,
        left: functions.map(([name, fn]) =>
          fn.metricErrors({ period: fiveMinutes, label: `${name} errors` }),
        ),
        right: functions.map(([name, fn]) =>
          fn.metricThrottles({ period: fiveMinutes, label: `${name} throttles` }),
        ),
      }),
    );
  }
}

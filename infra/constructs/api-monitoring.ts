import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Properties of {@link ApiMonitoring}. */
export interface ApiMonitoringProps {
  readonly api: HttpApi;
  /** Share of 5xx answers (%) over 5 minutes that raises the alarm. @default 1 */
  readonly serverErrorRatePercent?: number;
  /** p99 latency (ms) over 5 minutes that raises the alarm. @default 1000 */
  readonly p99LatencyMs?: number;
  /** Where alarms are sent. @default - no action */
  readonly alarmTopic?: ITopic;
}

/** The API dashboard and its alarms: 5xx rate and p99 latency. */
export class ApiMonitoring extends Construct {
  public readonly dashboard: Dashboard;
  public readonly serverErrorAlarm: Alarm;
  public readonly latencyAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ApiMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const errorRate = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: props.api.metricServerError({ period, statistic: 'Sum' }),
        requests: props.api.metricCount({ period, statistic: 'Sum' }),
      },
      period,
      label: '5xx rate (%)',
    });
    const p99 = props.api.metricLatency({ period, statistic: 'p99', label: 'p99 latency (ms)' });

    this.serverErrorAlarm = new Alarm(this, 'ServerErrorRate', {
      alarmDescription: 'API answers 5xx to more than the allowed share of requests',
      metric: errorRate,
      threshold: props.serverErrorRatePercent ?? 1,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new Alarm(this, 'P99Latency', {
      alarmDescription: 'API p99 latency above the threshold',
      metric: p99,
      threshold: props.p99LatencyMs ?? 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      for (const alarm of [this.serverErrorAlarm, this.latencyAlarm])
        alarm.addAlarmAction(new SnsAction(props.alarmTopic));
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Requests and errors',
            left: [
              props.api.metricCount({ period, statistic: 'Sum', label: 'requests' }),
              props.api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
              props.api.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
            ],
            width: 12,
          }),
          new GraphWidget({
            title: 'Latency (ms)',
            left: [
              props.api.metricLatency({ period, statistic: 'p50', label: 'p50' }),
              p99,
              props.api.metricIntegrationLatency({ period, statistic: 'p99', label: 'integration p99' }),
            ],
            width: 12,
          }),
        ],
        [new GraphWidget({ title: '5xx rate (%)', left: [errorRate], width: 12 })],
      ],
    });
  }
}

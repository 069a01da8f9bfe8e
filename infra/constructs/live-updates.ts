import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnApi,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LIVE_ENV } from '#shared/live/wiring.ts';
import {
  INVENTORY_TABLE,
  LIVE_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
} from '#shared/store/table-design.ts';
import { PveFunction, type TableGrant } from './pve-function.ts';

/** Properties of {@link LiveUpdates}. */
export interface LiveUpdatesProps {
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  readonly liveTable: ITableV2;
  /** Issuer (`iss`) of accepted tokens, and its audiences: the HTTP API's. */
  readonly issuer: string;
  readonly audience: readonly string[];
  /** The issuer's JWKS URL. @default issuer + `/.well-known/jwks.json` (Cognito's) */
  readonly jwksUrl?: string;
  /** Identity and cadence settings, as the API handlers get them. */
  readonly environment: Readonly<Record<string, string>>;
  /** Stream batching window: a quick pass's writes reach a client as one message. @default 2 s */
  readonly batchingWindow?: Duration;
  /** Where the alarms go. @default - no action */
  readonly alarmTopic?: ITopic;
}

/**
 * The exact DynamoDB access of each live function, per table (what its code calls; the grants
 * test checks them against recorded calls).
 */
export const LIVE_TABLE_ACCESS = {
  notify: {
    inventory: { actions: ['BatchGetItem', 'Query'] },
    syncState: { actions: ['BatchGetItem', 'Query'] },
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: ['ByMember'] },
    live: { actions: ['DeleteItem', 'PutItem', 'Query', 'UpdateItem'] },
  },
  socket: {
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: ['ByMember'] },
    live: { actions: ['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'] },
  },
  sweep: {
    live: { actions: ['DeleteItem', 'Query'] },
  },
} as const satisfies Record<
  string,
  Partial<Record<'inventory' | 'syncState' | 'ownership' | 'live', TableGrant>>
>;

/**
 * Live updates: the WebSocket API (a Lambda REQUEST authorizer verifying the JWT at `$connect`;
 * `$connect`, `$disconnect` and `$default` on one small function), the stream consumer fed by the
 * inventory, sync-state and ownership tables' streams (partial batch failures, retries, a DLQ),
 * the expiry sweep every minute, and their alarms and dashboard.
 */
export class LiveUpdates extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly authorizerFunction: PveFunction;
  public readonly socketFunction: PveFunction;
  public readonly notifyFunction: PveFunction;
  public readonly sweepFunction: PveFunction;
  public readonly deadLetterQueue: Queue;
  public readonly dashboard: Dashboard;
  public readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: LiveUpdatesProps) {
    super(scope, id);
    const tokenEnvironment = {
      [LIVE_ENV.issuer]: props.issuer,
      [LIVE_ENV.audience]: props.audience.join(','),
      ...(props.jwksUrl === undefined ? {} : { [LIVE_ENV.jwksUrl]: props.jwksUrl }),
    };
    const tableNames = {
      [INVENTORY_TABLE.envVar]: props.inventoryTable.tableName,
      [SYNC_STATE_TABLE.envVar]: props.syncStateTable.tableName,
      [OWNERSHIP_TABLE.envVar]: props.ownershipTable.tableName,
      [LIVE_TABLE.envVar]: props.liveTable.tableName,
    };
    const tables = {
      inventory: [props.inventoryTable, INVENTORY_TABLE],
      syncState: [props.syncStateTable, SYNC_STATE_TABLE],
      ownership: [props.ownershipTable, OWNERSHIP_TABLE],
      live: [props.liveTable, LIVE_TABLE],
    } as const;
    const bind = (fn: PveFunction, access: Partial<Record<keyof typeof tables, TableGrant>>) => {
      for (const [key, grant] of Object.entries(access) as [keyof typeof tables, TableGrant][]) {
        const [table, design] = tables[key];
        fn.bindTable(table, grant, design);
      }
    };

    this.authorizerFunction = new PveFunction(this, 'Authorizer', {
      entry: 'functions/live/authorize.ts',
      serviceName: 'live',
      description: 'Live updates: verifies the JWT of a WebSocket connection ($connect authorizer)',
      timeout: Duration.seconds(10),
      environment: { ...props.environment, ...tokenEnvironment },
    });

    this.api = new WebSocketApi(this, 'Api', {
      description: 'pve-inventory live updates',
      routeSelectionExpression: '$request.body.action',
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: 'prod',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(
          new LogGroup(this, 'AccessLogs', {
            retention: RetentionDays.THREE_MONTHS,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        ),
        // No query string: it carries the token.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            routeKey: '$context.routeKey',
            eventType: '$context.eventType',
            status: '$context.status',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            user: '$context.authorizer.principalId',
          }),
        ),
      },
    });

    this.socketFunction = new PveFunction(this, 'Socket', {
      entry: 'functions/live/socket.ts',
      serviceName: 'live',
      description: 'Live updates: $connect, $disconnect and $default of the WebSocket API',
      timeout: Duration.seconds(20),
      environment: {
        ...props.environment,
        ...tokenEnvironment,
        ...tableNames,
        [LIVE_ENV.callbackUrl]: this.stage.callbackUrl,
      },
    });
    bind(this.socketFunction, LIVE_TABLE_ACCESS.socket);

    const integration = new WebSocketLambdaIntegration('SocketIntegration', this.socketFunction.function);
    this.api.addRoute('$connect', {
      integration,
      authorizer: new WebSocketLambdaAuthorizer('TokenAuthorizer', this.authorizerFunction.function, {
        identitySource: ['route.request.querystring.token'],
      }),
    });
    const disconnect = this.api.addRoute('$disconnect', { integration });
    const fallback = this.api.addRoute('$default', { integration });
    for (const route of [disconnect, fallback]) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'A WebSocket API authorizes at $connect only (API Gateway allows an authorizer on no other route); later frames travel on the authorized connection.',
      });
    }

    this.deadLetterQueue = new Queue(this, 'StreamFailures', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination of the live stream consumer.',
    });

    this.notifyFunction = new PveFunction(this, 'Notify', {
      entry: 'functions/live/notify.ts',
      serviceName: 'live',
      description: 'Live updates: turns table stream records into per-user deltas and posts them',
      timeout: Duration.seconds(60),
      environment: { ...props.environment, ...tableNames, [LIVE_ENV.callbackUrl]: this.stage.callbackUrl },
    });
    bind(this.notifyFunction, LIVE_TABLE_ACCESS.notify);
    for (const table of [props.inventoryTable, props.syncStateTable, props.ownershipTable]) {
      this.notifyFunction.function.addEventSource(
        new DynamoEventSource(table, {
          startingPosition: StartingPosition.LATEST,
          batchSize: 1000,
          maxBatchingWindow: props.batchingWindow ?? Duration.seconds(2),
          retryAttempts: 3,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          onFailure: new SqsDlq(this.deadLetterQueue),
        }),
      );
    }

    this.sweepFunction = new PveFunction(this, 'Sweep', {
      entry: 'functions/live/sweep.ts',
      serviceName: 'live',
      description: 'Live updates: closes connections whose token expired',
      timeout: Duration.seconds(30),
      environment: { ...props.environment, ...tableNames, [LIVE_ENV.callbackUrl]: this.stage.callbackUrl },
    });
    bind(this.sweepFunction, LIVE_TABLE_ACCESS.sweep);
    new Rule(this, 'SweepSchedule', {
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweepFunction.function)],
    });

    const apiLogicalId = Stack.of(this).resolve((this.api.node.defaultChild as CfnApi).logicalId) as string;
    for (const fn of [this.socketFunction, this.notifyFunction, this.sweepFunction]) {
      this.stage.grantManagementApiAccess(fn.role);
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/prod/*/@connections/*]`,
        reason:
          "Posting to and closing connections: connection ids are created at run time, so the grant is on the stage's @connections/* path.",
      });
    }

    const apiMetric = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: this.api.apiId, Stage: this.stage.stageName },
        statistic,
        period: Duration.minutes(5),
      });
    const iteratorAge = this.notifyFunction.function.metric('IteratorAge', {
      statistic: 'Maximum',
      period: Duration.minutes(5),
    });
    this.alarms = [
      new Alarm(this, 'NotifyErrors', {
        alarmDescription: 'The live stream consumer failed (records are retried, then sent to the DLQ)',
        metric: this.notifyFunction.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'NotifyIteratorAge', {
        alarmDescription: 'Live updates lag more than a minute behind the table writes',
        metric: iteratorAge,
        threshold: 60_000,
        evaluationPeriods: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'StreamDeadLetters', {
        alarmDescription: 'Stream records the live consumer gave up on',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'SocketIntegrationErrors', {
        alarmDescription: 'WebSocket route integrations failing',
        metric: apiMetric('IntegrationError'),
        threshold: 5,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (props.alarmTopic)
      for (const alarm of this.alarms) alarm.addAlarmAction(new SnsAction(props.alarmTopic));

    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Live connections and messages',
            left: [apiMetric('ConnectCount'), apiMetric('MessageCount')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Live errors',
            left: [apiMetric('ClientError'), apiMetric('IntegrationError'), apiMetric('ExecutionError')],
            width: 12,
          }),
        ],
        [
          new GraphWidget({ title: 'Stream lag (ms)', left: [iteratorAge], width: 12 }),
          new GraphWidget({
            title: 'Stream consumer',
            left: [
              this.notifyFunction.function.metricInvocations({ period: Duration.minutes(5) }),
              this.notifyFunction.function.metricErrors({ period: Duration.minutes(5) }),
            ],
            right: [
              this.notifyFunction.function.metricDuration({ period: Duration.minutes(5), statistic: 'p99' }),
            ],
            width: 12,
          }),
        ],
      ],
    });
  }
}

import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Chain,
  DefinitionBody,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  Pass,
  QueryLanguage,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { quickPassStateName, SyncStateName } from '#shared/sync/contract.ts';

/** Lambda errors worth a retry: the service's transient failures and throttling, never the handler's own errors. */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

/** Quick-sync machine timeout: below the one-minute schedule so executions never overlap. */
export const QUICK_SYNC_TIMEOUT_SECONDS = 58;

/** Properties of {@link SyncStateMachines}. */
export interface SyncStateMachinesProps {
  readonly listClustersFunction: IFunction;
  readonly syncClusterFunction: IFunction;
  readonly recordRunFunction: IFunction;
  /** Full-sync period in minutes (the machine's timeout stays below it). */
  readonly fullSyncMinutes: number;
  /** Quick-sync interval in seconds (15, 20 or 30): 60/interval passes per execution. */
  readonly quickSyncSeconds: 15 | 20 | 30;
  /** Map MaxConcurrency over clusters. */
  readonly maxConcurrency: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Timing of the quick machine derived from the interval. */
export interface QuickSyncTiming {
  readonly passes: number;
  readonly waitSeconds: number;
  /** Per-cluster task timeout of a pass: a hung cluster must not delay the next passes. */
  readonly taskTimeoutSeconds: number;
}

/**
 * Derives the quick machine's timing: `60 / interval` passes separated by `interval`-second waits,
 * each cluster's task limited so that all passes fit inside {@link QUICK_SYNC_TIMEOUT_SECONDS}.
 */
export function quickSyncTiming(intervalSeconds: number): QuickSyncTiming {
  if (![15, 20, 30].includes(intervalSeconds)) {
    throw new RangeError(`quick-sync interval must be 15, 20 or 30 seconds, not ${intervalSeconds}`);
  }
  const passes = 60 / intervalSeconds;
  const budget = QUICK_SYNC_TIMEOUT_SECONDS - 1 - (passes - 1) * intervalSeconds;
  return {
    passes,
    waitSeconds: intervalSeconds,
    taskTimeoutSeconds: Math.max(5, Math.floor(budget / passes)),
  };
}

/** Full-sync machine timeout: below the period so a slow run never overlaps the next one. */
export function fullSyncTimeout(fullSyncMinutes: number): Duration {
  return Duration.seconds(fullSyncMinutes * 60 - 10);
}

/**
 * The two sync state machines (JSONPath only, so the synthesized definitions run in the local
 * interpreter as they are). Full: ListClusters → Map(SyncCluster, Catch inside the iteration) →
 * RecordRun, Standard. Quick: ListClusters → (Map → RecordRun → Wait) × passes, Express.
 */
export class SyncStateMachines extends Construct {
  public readonly fullSync: StateMachine;
  public readonly quickSync: StateMachine;

  constructor(scope: Construct, id: string, props: SyncStateMachinesProps) {
    super(scope, id);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    // Full sync.
    const fullMap = this.clusterMap(
      SyncStateName.syncClusters,
      SyncStateName.syncCluster,
      SyncStateName.syncClusterFailed,
      props,
      { quick: false },
    );
    const fullDefinition = this.listClusters('Full', props.listClustersFunction)
      .next(fullMap)
      .next(this.recordRun(SyncStateName.recordRun, props.recordRunFunction, false));
    this.fullSync = new StateMachine(this, 'FullSync', {
      comment: 'Full sync of every cluster; one cluster failing never fails the others',
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      definitionBody: DefinitionBody.fromChainable(fullDefinition),
      timeout: fullSyncTimeout(props.fullSyncMinutes),
      tracingEnabled: true,
      logs: {
        destination: this.logGroup('FullSyncLogs', retention),
        level: LogLevel.ALL,
        includeExecutionData: true,
      },
    });

    // Quick sync: the wait loop gives the sub-minute cadence (no AWS schedule goes below a minute).
    const timing = quickSyncTiming(props.quickSyncSeconds);
    const done = new Succeed(this, 'QuickSyncDone');
    const passes: { map: MapState; record: LambdaInvoke }[] = [];
    for (let pass = 1; pass <= timing.passes; pass += 1) {
      const map = this.clusterMap(
        quickPassStateName('QuickPass', pass),
        quickPassStateName(SyncStateName.syncCluster, pass),
        quickPassStateName(SyncStateName.syncClusterFailed, pass),
        props,
        { quick: true, taskTimeoutSeconds: timing.taskTimeoutSeconds },
      );
      const record = this.recordRun(
        quickPassStateName(SyncStateName.recordRun, pass),
        props.recordRunFunction,
        true,
      );
      passes.push({ map, record });
    }
    let quickDefinition = Chain.start(this.listClusters('Quick', props.listClustersFunction));
    passes.forEach(({ map, record }, index) => {
      const following: Wait | Succeed = passes[index + 1]
        ? new Wait(this, quickPassStateName('WaitBeforePass', index + 2), {
            time: WaitTime.duration(Duration.seconds(timing.waitSeconds)),
          })
        : done;
      // Recording a pass is bookkeeping: its failure must not cancel the passes still to come.
      record.addCatch(following, { errors: ['States.ALL'], resultPath: JsonPath.DISCARD });
      quickDefinition = quickDefinition.next(map).next(record).next(following);
    });
    this.quickSync = new StateMachine(this, 'QuickSync', {
      comment: `Quick sync: ${timing.passes} passes ${timing.waitSeconds} s apart per execution`,
      stateMachineType: StateMachineType.EXPRESS,
      queryLanguage: QueryLanguage.JSON_PATH,
      definitionBody: DefinitionBody.fromChainable(quickDefinition),
      timeout: Duration.seconds(QUICK_SYNC_TIMEOUT_SECONDS),
      tracingEnabled: true,
      logs: {
        destination: this.logGroup('QuickSyncLogs', retention),
        level: LogLevel.ALL,
        includeExecutionData: true,
      },
    });

    const functions = [props.listClustersFunction, props.syncClusterFunction, props.recordRunFunction];
    for (const machine of [this.fullSync, this.quickSync]) {
      for (const fn of functions) {
        const cfn = fn.node.defaultChild;
        if (!(cfn instanceof CfnFunction)) continue;
        Validations.of(machine).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfn).getLogicalId(cfn)}.Arn>:*]`,
          reason: `LambdaInvoke grants ${fn.node.path} and its versions/aliases (<arn>:*); no other function is invocable.`,
        });
      }
      Validations.of(machine).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'CloudWatch Logs delivery (logs:CreateLogDelivery etc.) and X-Ray (PutTraceSegments) actions support no resource-level permissions.',
      });
    }
  }

  private logGroup(id: string, retention: RetentionDays): LogGroup {
    return new LogGroup(this, id, { retention, removalPolicy: RemovalPolicy.DESTROY });
  }

  private listClusters(prefix: string, fn: IFunction): LambdaInvoke {
    const task = new LambdaInvoke(this, `${prefix}${SyncStateName.listClusters}`, {
      stateName: SyncStateName.listClusters,
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    task.addRetry({
      errors: [...TRANSIENT_LAMBDA_ERRORS],
      interval: Duration.seconds(1),
      maxAttempts: 2,
      backoffRate: 2,
      jitterStrategy: JitterType.FULL,
    });
    return task;
  }

  /** A Map over `$.clusters` whose iteration catches every error, so one cluster cannot fail the run. */
  private clusterMap(
    mapName: string,
    taskName: string,
    failedName: string,
    props: SyncStateMachinesProps,
    options: { quick: boolean; taskTimeoutSeconds?: number },
  ): MapState {
    const task = new LambdaInvoke(this, taskName, {
      stateName: taskName,
      lambdaFunction: props.syncClusterFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout:
        options.taskTimeoutSeconds === undefined
          ? undefined
          : Timeout.duration(Duration.seconds(options.taskTimeoutSeconds)),
    });
    task.addRetry(
      options.quick
        ? { errors: [...TRANSIENT_LAMBDA_ERRORS], interval: Duration.seconds(1), maxAttempts: 1 }
        : {
            errors: [...TRANSIENT_LAMBDA_ERRORS],
            interval: Duration.seconds(2),
            maxAttempts: 3,
            backoffRate: 2,
            jitterStrategy: JitterType.FULL,
          },
    );
    const failed = new Pass(this, failedName, {
      stateName: failedName,
      comment: 'The task itself failed (crash, timeout): record the failure, let the other clusters finish',
      parameters: {
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        ok: false,
        error: JsonPath.jsonToString(JsonPath.objectAt('$.error')),
      },
    });
    task.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    return new MapState(this, mapName, {
      stateName: mapName,
      itemsPath: '$.clusters',
      maxConcurrency: props.maxConcurrency,
      resultPath: '$.results',
    }).itemProcessor(task);
  }

  private recordRun(name: string, fn: IFunction, quick: boolean): LambdaInvoke {
    const task = new LambdaInvoke(this, name, {
      stateName: name,
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: TaskInput.fromObject({
        mode: JsonPath.stringAt('$.mode'),
        results: JsonPath.listAt('$.results'),
      }),
      // The quick machine keeps its state (the cluster list) for the next pass; the full machine's
      // output is the run record.
      resultPath: quick ? JsonPath.DISCARD : undefined,
    });
    task.addRetry({
      errors: [...TRANSIENT_LAMBDA_ERRORS],
      interval: Duration.seconds(1),
      maxAttempts: 2,
      backoffRate: 2,
    });
    return task;
  }
}

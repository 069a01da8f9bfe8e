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

/** The error a throttled Map iteration reports in the run's results. */
export const THROTTLED_ERROR =
  'throttled: the sync function had no concurrency left (see the SyncClusterThrottled alarm)';

/** `SyncClusterFailed` → `SyncClusterThrottled`, `SyncClusterFailed2` → `SyncClusterThrottled2`. */
export function throttledStateName(failedName: string): string {
  return failedName.replace('Failed', 'Throttled');
}

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
  /** Configured clusters (the quick machine's budget depends on the Map rounds). @default 1 */
  readonly clusterCount?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Task timeout of ListClusters in the quick machine (it only reads its configuration; no retry). */
export const QUICK_LIST_TASK_SECONDS = 4;
/** Task timeout of each pass's RecordRun in the quick machine (bookkeeping; no retry, failures caught). */
export const QUICK_RECORD_TASK_SECONDS = 2;
/** The shortest per-cluster task a quick pass may have: a VPC cold start plus one listing. */
export const QUICK_TASK_MIN_SECONDS = 5;
/** The longest per-cluster task a quick pass needs (one listing with the client's own timeouts). */
export const QUICK_TASK_MAX_SECONDS = 10;
/** Seconds kept free below the machine timeout (state transitions). */
export const QUICK_MARGIN_SECONDS = 1;

/** Timing of the quick machine derived from the interval, the cluster count and the Map concurrency. */
export interface QuickSyncTiming {
  readonly passes: number;
  readonly waitSeconds: number;
  /** Per-cluster task timeout of a pass: a hung cluster must not delay the next passes. */
  readonly taskTimeoutSeconds: number;
  /** Map rounds per pass: clusters beyond the Map concurrency wait for a free slot. */
  readonly rounds: number;
  /**
   * The execution's worst case: ListClusters, then per pass every round at its task timeout and
   * RecordRun at its own, plus the waits. Never above {@link QUICK_SYNC_TIMEOUT_SECONDS}.
   */
  readonly worstCaseSeconds: number;
}

/** The quick-sync setting cannot fit the machine's timeout; the message says what to change. */
export class QuickSyncBudgetError extends Error {
  override readonly name = 'QuickSyncBudgetError';
}

/**
 * Derives the quick machine's timing: `60 / interval` passes separated by `interval`-second waits,
 * each cluster's task limited so that the worst case of every step (no step retries in the quick
 * machine) fits inside {@link QUICK_SYNC_TIMEOUT_SECONDS}. Refuses a setting where a cluster's
 * task would get less than {@link QUICK_TASK_MIN_SECONDS}.
 */
export function quickSyncTiming(
  intervalSeconds: number,
  clusterCount = 1,
  mapConcurrency = 40,
): QuickSyncTiming {
  if (![15, 20, 30].includes(intervalSeconds)) {
    throw new RangeError(`quick-sync interval must be 15, 20 or 30 seconds, not ${intervalSeconds}`);
  }
  const passes = 60 / intervalSeconds;
  const rounds = Math.ceil(Math.max(1, clusterCount) / Math.max(1, mapConcurrency));
  const fixed =
    QUICK_MARGIN_SECONDS +
    QUICK_LIST_TASK_SECONDS +
    passes * QUICK_RECORD_TASK_SECONDS +
    (passes - 1) * intervalSeconds;
  const perTask = Math.floor((QUICK_SYNC_TIMEOUT_SECONDS - fixed) / (passes * rounds));
  if (perTask < QUICK_TASK_MIN_SECONDS) {
    const needed = fixed + passes * rounds * QUICK_TASK_MIN_SECONDS - QUICK_MARGIN_SECONDS;
    throw new QuickSyncBudgetError(
      `pveInventory.quickSyncSeconds: ${intervalSeconds} s cannot fit ${passes} passes over ${clusterCount} cluster(s) (${rounds} Map round(s) of ${mapConcurrency}) in the quick machine's ${QUICK_SYNC_TIMEOUT_SECONDS} s: ` +
        `${passes - 1} waits of ${intervalSeconds} s, ListClusters ${QUICK_LIST_TASK_SECONDS} s, RecordRun ${QUICK_RECORD_TASK_SECONDS} s per pass and at least ${QUICK_TASK_MIN_SECONDS} s per cluster task need ${needed} s. ` +
        (rounds > 1 && intervalSeconds === 30
          ? `Raise pveInventory.syncMaxConcurrency to at least ${Math.ceil(clusterCount / 2)}.`
          : 'Use quickSyncSeconds: 30' +
            (rounds > 2 ? ` with syncMaxConcurrency of at least ${Math.ceil(clusterCount / 2)}.` : '.')),
    );
  }
  const taskTimeoutSeconds = Math.min(QUICK_TASK_MAX_SECONDS, perTask);
  return {
    passes,
    waitSeconds: intervalSeconds,
    taskTimeoutSeconds,
    rounds,
    worstCaseSeconds: fixed - QUICK_MARGIN_SECONDS + passes * rounds * taskTimeoutSeconds,
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
  /** The quick machine's timing and worst case. */
  public readonly quickTiming: QuickSyncTiming;

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
    const fullDefinition = this.listClusters('Full', props.listClustersFunction, false)
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
    const timing = quickSyncTiming(props.quickSyncSeconds, props.clusterCount ?? 1, props.maxConcurrency);
    this.quickTiming = timing;
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
    let quickDefinition = Chain.start(this.listClusters('Quick', props.listClustersFunction, true));
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

  private listClusters(prefix: string, fn: IFunction, quick: boolean): LambdaInvoke {
    const task = new LambdaInvoke(this, `${prefix}${SyncStateName.listClusters}`, {
      stateName: SyncStateName.listClusters,
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: quick ? Timeout.duration(Duration.seconds(QUICK_LIST_TASK_SECONDS)) : undefined,
    });
    // The quick machine has no time for retries (see quickSyncTiming): a failed execution alarms and
    // the next one starts within the minute.
    if (quick) return task;
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
    // Quick passes do not retry (their budget has no room; the next pass comes within the interval).
    if (!options.quick) {
      task.addRetry({
        errors: [...TRANSIENT_LAMBDA_ERRORS],
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: JitterType.FULL,
      });
    }
    const failed = new Pass(this, failedName, {
      stateName: failedName,
      comment: 'The task itself failed (crash, timeout): record the failure, let the other clusters finish',
      parameters: {
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        ok: false,
        error: JsonPath.jsonToString(JsonPath.objectAt('$.error')),
      },
    });
    // Throttling (reserved concurrency or the account pool exhausted) is told apart from a crash:
    // its own state in the execution history, its own error text in the run's results, and the
    // function's Throttles metric raises an alarm (sync-monitoring.ts).
    const throttled = new Pass(this, throttledStateName(failedName), {
      stateName: throttledStateName(failedName),
      comment:
        'The sync function was throttled even after the retries: record it, let the other clusters finish',
      parameters: {
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        ok: false,
        error: THROTTLED_ERROR,
      },
    });
    task.addCatch(throttled, { errors: ['Lambda.TooManyRequestsException'], resultPath: '$.error' });
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
      taskTimeout: quick ? Timeout.duration(Duration.seconds(QUICK_RECORD_TASK_SECONDS)) : undefined,
    });
    if (quick) return task;
    task.addRetry({
      errors: [...TRANSIENT_LAMBDA_ERRORS],
      interval: Duration.seconds(1),
      maxAttempts: 2,
      backoffRate: 2,
    });
    return task;
  }
}

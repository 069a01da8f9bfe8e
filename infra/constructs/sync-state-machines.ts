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

/**
 * MaxConcurrency of the quick machine's Map: an iteration runs all of a cluster's passes and holds
 * its slot for the whole execution, so every cluster needs a slot of its own (40 is the most
 * iterations an inline Map runs at once).
 */
export const QUICK_SYNC_MAX_CONCURRENCY = 40;

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
  /** X-Ray tracing of the Express quick sync (the full sync is always traced). @default false */
  readonly quickSyncTracing?: boolean;
  /** Configured clusters (the quick machine's budget depends on them). @default 1 */
  readonly clusterCount?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Task timeout of ListClusters in the quick machine (it only reads its configuration; no retry). */
export const QUICK_LIST_TASK_SECONDS = 4;
/** Task timeout of the quick machine's RecordRun (bookkeeping; no retry). */
export const QUICK_RECORD_TASK_SECONDS = 2;
/** The shortest per-cluster task a quick pass may have: a VPC cold start plus one listing. */
export const QUICK_TASK_MIN_SECONDS = 5;
/** The longest per-cluster task a quick pass needs (one listing with the client's own timeouts). */
export const QUICK_TASK_MAX_SECONDS = 10;
/** Seconds kept free below the machine timeout (state transitions). */
export const QUICK_MARGIN_SECONDS = 1;

/** The error a throttled Map iteration reports in the run's results. */
export const THROTTLED_ERROR =
  'throttled: the sync function had no concurrency left (see the SyncClusterThrottled alarm)';

/** `SyncClusterFailed` → `SyncClusterThrottled`, `SyncClusterFailed2` → `SyncClusterThrottled2`. */
export function throttledStateName(failedName: string): string {
  return failedName.replace('Failed', 'Throttled');
}

/** Timing of the quick machine derived from the interval and the cluster count. */
export interface QuickSyncTiming {
  readonly passes: number;
  readonly waitSeconds: number;
  /** Per-cluster task timeout of a pass: a hung cluster must not delay the next passes. */
  readonly taskTimeoutSeconds: number;
  /** Map rounds: clusters beyond the Map's concurrency wait for a free slot. */
  readonly rounds: number;
  /**
   * The execution's worst case: ListClusters, then per round one iteration's passes at their task
   * timeout with the waits between them, then RecordRun. Never above {@link QUICK_SYNC_TIMEOUT_SECONDS}.
   */
  readonly worstCaseSeconds: number;
}

/** The quick-sync setting cannot fit the machine's timeout; the message says what to change. */
export class QuickSyncBudgetError extends Error {
  override readonly name = 'QuickSyncBudgetError';
}

/**
 * Derives the quick machine's timing: `60 / interval` passes per cluster separated by
 * `interval`-second waits, each task limited so that the worst case of every step (no step retries
 * in the quick machine) fits inside {@link QUICK_SYNC_TIMEOUT_SECONDS}. Refuses a setting where a
 * cluster's task would get less than {@link QUICK_TASK_MIN_SECONDS}.
 */
export function quickSyncTiming(
  intervalSeconds: number,
  clusterCount = 1,
  mapConcurrency = QUICK_SYNC_MAX_CONCURRENCY,
): QuickSyncTiming {
  if (![15, 20, 30].includes(intervalSeconds)) {
    throw new RangeError(`quick-sync interval must be 15, 20 or 30 seconds, not ${intervalSeconds}`);
  }
  const passes = 60 / intervalSeconds;
  const rounds = Math.ceil(Math.max(1, clusterCount) / Math.max(1, mapConcurrency));
  const fixed = QUICK_MARGIN_SECONDS + QUICK_LIST_TASK_SECONDS + QUICK_RECORD_TASK_SECONDS;
  const waits = rounds * (passes - 1) * intervalSeconds;
  const perTask = Math.floor((QUICK_SYNC_TIMEOUT_SECONDS - fixed - waits) / (passes * rounds));
  if (perTask < QUICK_TASK_MIN_SECONDS) {
    const needed = fixed - QUICK_MARGIN_SECONDS + waits + passes * rounds * QUICK_TASK_MIN_SECONDS;
    throw new QuickSyncBudgetError(
      `pveInventory.quickSyncSeconds: ${intervalSeconds} s cannot fit ${passes} passes over ${clusterCount} cluster(s) (${rounds} Map round(s) of ${mapConcurrency}) in the quick machine's ${QUICK_SYNC_TIMEOUT_SECONDS} s: ` +
        `ListClusters ${QUICK_LIST_TASK_SECONDS} s, RecordRun ${QUICK_RECORD_TASK_SECONDS} s, ${passes - 1} waits of ${intervalSeconds} s per cluster and at least ${QUICK_TASK_MIN_SECONDS} s per task need ${needed} s. ` +
        (rounds > 1
          ? `The quick sync covers at most ${mapConcurrency} clusters per deployment.`
          : 'Use quickSyncSeconds: 30.'),
    );
  }
  const taskTimeoutSeconds = Math.min(QUICK_TASK_MAX_SECONDS, perTask);
  return {
    passes,
    waitSeconds: intervalSeconds,
    taskTimeoutSeconds,
    rounds,
    worstCaseSeconds: fixed - QUICK_MARGIN_SECONDS + waits + passes * rounds * taskTimeoutSeconds,
  };
}

/** Full-sync machine timeout: below the period so a slow run never overlaps the next one. */
export function fullSyncTimeout(fullSyncMinutes: number): Duration {
  return Duration.seconds(fullSyncMinutes * 60 - 10);
}

/**
 * The two sync state machines (JSONPath only, so the synthesized definitions run in the local
 * interpreter as they are). Full: ListClusters → Map(SyncCluster, Catch inside the iteration) →
 * RecordRun, Standard. Quick: ListClusters → Map(per cluster: (SyncClusterN → Wait) × passes) →
 * RecordRun, Express: each cluster keeps its own cadence. A hanging iteration of either Map holds
 * only its own slot; the others go on.
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
    );
    const fullDefinition = this.listClusters('Full', props.listClustersFunction, false)
      .next(fullMap)
      .next(this.recordRun(SyncStateName.recordRun, props.recordRunFunction, 'Full'));
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
    // Each cluster runs its own passes inside one Map iteration, so a cluster whose listing hangs
    // only delays its own next pass, never the other clusters' (a Map of passes would wait for the
    // slowest cluster before any next pass could start).
    const timing = quickSyncTiming(props.quickSyncSeconds, props.clusterCount ?? 1);
    this.quickTiming = timing;
    const clusterDone = new Pass(this, SyncStateName.quickClusterDone, {
      stateName: SyncStateName.quickClusterDone,
      comment: "The iteration's output: the cluster's last pass",
      outputPath: '$.result',
    });
    let iteration: Chain | undefined;
    let previousEnd: { task: LambdaInvoke; failed: Pass[] } | undefined;
    for (let pass = 1; pass <= timing.passes; pass += 1) {
      const { task, failed } = this.quickPassTask(pass, props, timing.taskTimeoutSeconds);
      if (previousEnd === undefined) {
        iteration = Chain.start(task);
      } else {
        const wait = new Wait(this, quickPassStateName('WaitBeforePass', pass), {
          time: WaitTime.duration(Duration.seconds(timing.waitSeconds)),
        });
        previousEnd.task.next(wait);
        for (const end of previousEnd.failed) end.next(wait);
        wait.next(task);
      }
      previousEnd = { task, failed };
    }
    if (iteration === undefined || previousEnd === undefined) throw new RangeError('no quick pass');
    previousEnd.task.next(clusterDone);
    for (const end of previousEnd.failed) end.next(clusterDone);
    const quickMap = new MapState(this, SyncStateName.quickClusters, {
      stateName: SyncStateName.quickClusters,
      itemsPath: '$.clusters',
      // Each iteration holds its slot for the whole execution: every cluster needs its own.
      maxConcurrency: QUICK_SYNC_MAX_CONCURRENCY,
      resultPath: '$.results',
    }).itemProcessor(iteration);
    const quickDefinition = Chain.start(this.listClusters('Quick', props.listClustersFunction, true))
      .next(quickMap)
      .next(this.recordRun(SyncStateName.recordRun, props.recordRunFunction, 'Quick'));
    this.quickSync = new StateMachine(this, 'QuickSync', {
      comment: `Quick sync: ${timing.passes} passes ${timing.waitSeconds} s apart per cluster, each cluster on its own`,
      stateMachineType: StateMachineType.EXPRESS,
      queryLanguage: QueryLanguage.JSON_PATH,
      definitionBody: DefinitionBody.fromChainable(quickDefinition),
      timeout: Duration.seconds(QUICK_SYNC_TIMEOUT_SECONDS),
      tracingEnabled: props.quickSyncTracing ?? false,
      logs: {
        destination: this.logGroup('QuickSyncLogs', retention),
        level: LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    if (!(props.quickSyncTracing ?? false)) {
      Validations.of(this.quickSync).acknowledge({
        id: 'AwsSolutions-SF2',
        reason:
          'The Express quick sync runs every minute: tracing it would record most of the X-Ray traces of the deployment. Its executions are logged at level ALL, its failures alarm, and the full sync stays traced; quickSyncTracing turns it on.',
      });
    }

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

  /** The full sync's Map over `$.clusters`; its iteration catches every error, so one cluster cannot fail the run. */
  private clusterMap(
    mapName: string,
    taskName: string,
    failedName: string,
    props: SyncStateMachinesProps,
  ): MapState {
    const task = new LambdaInvoke(this, taskName, {
      stateName: taskName,
      lambdaFunction: props.syncClusterFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    task.addRetry({
      errors: [...TRANSIENT_LAMBDA_ERRORS],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: JitterType.FULL,
    });
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
      parameters: { cluster_id: JsonPath.stringAt('$.cluster_id'), ok: false, error: THROTTLED_ERROR },
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

  /**
   * One quick pass of one cluster inside the quick Map's iteration: the task keeps the item
   * (`cluster_id`, `mode`) and puts its summary in `$.result`; a failed task puts a failure record
   * there instead, so the next pass still runs.
   */
  private quickPassTask(
    pass: number,
    props: SyncStateMachinesProps,
    taskTimeoutSeconds: number,
  ): { task: LambdaInvoke; failed: Pass[] } {
    const taskName = quickPassStateName(SyncStateName.syncCluster, pass);
    const failedName = quickPassStateName(SyncStateName.syncClusterFailed, pass);
    const task = new LambdaInvoke(this, taskName, {
      stateName: taskName,
      lambdaFunction: props.syncClusterFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // The first pass carries the trigger's `manual` (an explicit retry that runs through the
      // cluster's backoff); the later passes keep the ordinary cadence and its backoff.
      payload: TaskInput.fromObject({
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        mode: JsonPath.stringAt('$.mode'),
        ...(pass === 1 ? { manual: JsonPath.stringAt('$.manual') } : {}),
      }),
      resultPath: '$.result',
      taskTimeout: Timeout.duration(Duration.seconds(taskTimeoutSeconds)),
    });
    // Quick passes do not retry (their budget has no room; the next pass comes within the interval).
    const failed = new Pass(this, failedName, {
      stateName: failedName,
      comment: 'The task itself failed (crash, timeout): record the failure, keep the next passes',
      parameters: {
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        mode: JsonPath.stringAt('$.mode'),
        result: {
          cluster_id: JsonPath.stringAt('$.cluster_id'),
          ok: false,
          error: JsonPath.jsonToString(JsonPath.objectAt('$.error')),
        },
      },
    });
    const throttled = new Pass(this, throttledStateName(failedName), {
      stateName: throttledStateName(failedName),
      comment: 'The sync function was throttled: record it, keep the next passes',
      parameters: {
        cluster_id: JsonPath.stringAt('$.cluster_id'),
        mode: JsonPath.stringAt('$.mode'),
        result: { cluster_id: JsonPath.stringAt('$.cluster_id'), ok: false, error: THROTTLED_ERROR },
      },
    });
    task.addCatch(throttled, { errors: ['Lambda.TooManyRequestsException'], resultPath: '$.error' });
    task.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    return { task, failed: [throttled, failed] };
  }

  private recordRun(name: string, fn: IFunction, idPrefix: 'Full' | 'Quick'): LambdaInvoke {
    const task = new LambdaInvoke(this, `${idPrefix}${name}`, {
      stateName: name,
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: TaskInput.fromObject({
        mode: JsonPath.stringAt('$.mode'),
        results: JsonPath.listAt('$.results'),
      }),
      taskTimeout:
        idPrefix === 'Quick' ? Timeout.duration(Duration.seconds(QUICK_RECORD_TASK_SECONDS)) : undefined,
    });
    // The quick machine has no time for a retry (see quickSyncTiming).
    if (idPrefix === 'Quick') return task;
    task.addRetry({
      errors: [...TRANSIENT_LAMBDA_ERRORS],
      interval: Duration.seconds(1),
      maxAttempts: 2,
      backoffRate: 2,
    });
    return task;
  }
}

import { randomUUID } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { createLambdaContext } from '#local/gateway/server.ts';
import {
  bindSyncTaskHandlers,
  runStateMachine,
  type TaskHandler,
  taskStateNames,
} from '#local/stepfunctions/run-state-machine.ts';
import { type SyncMode, type SyncTaskRole, syncTaskRoleOf } from '#shared/sync/contract.ts';

/**
 * The local scheduler: runs the synthesized full and quick sync state machines with
 * aws-local-stepfunctions, every Lambda task bound to a local handler, on the intervals the
 * deployment's EventBridge schedules use — and on demand (the admin trigger, the CLI).
 */

/** A Lambda-style handler as the sync functions export it. */
export type LambdaStyleHandler = (event: unknown, context: ReturnType<typeof createLambdaContext>) => unknown;

/** Options of {@link LocalSyncRunner}. */
export interface LocalSyncRunnerOptions {
  readonly definitions: { readonly full: StateMachineDefinition; readonly quick: StateMachineDefinition };
  /** The task implementations by role (the real handlers wrapped by {@link taskHandlerFromLambda}). */
  readonly handlers: Readonly<Record<SyncTaskRole, TaskHandler>>;
  /** Period of the full sync in ms. */
  readonly fullIntervalMs: number;
  /** Time between quick passes in ms (each execution runs the machine's passes this far apart). */
  readonly quickIntervalMs: number;
  /**
   * Clusters whose quick syncs are scheduled one by one: each cluster runs its own quick
   * executions back to back, so a cluster that hangs delays only itself. Without it, one quick
   * execution covers every cluster.
   */
  readonly quickClusterIds?: readonly string[];
  /** Receives one line per failed execution. */
  readonly log?: (line: string) => void;
  /**
   * Other scheduled functions the deployment invokes from EventBridge Scheduler (the class
   * schedules): each runs every `intervalMs` once the schedules start, never overlapping itself.
   */
  readonly periodicJobs?: readonly LocalPeriodicJob[];
  readonly now?: () => number;
}

/** A function invoked on a fixed period (what an EventBridge Scheduler rate schedule does). */
export interface LocalPeriodicJob {
  readonly name: string;
  readonly intervalMs: number;
  readonly run: () => Promise<unknown>;
}

/** One execution, as the status line and the trigger see it. */
export interface LocalExecution {
  readonly name: string;
  readonly arn: string;
  readonly mode: SyncMode;
  readonly clusterId: string | null;
  readonly startedAt: number;
  finishedAt: number | null;
  /** `RecordRun`'s counts of the last pass, when the execution got that far */
  result: { clusters: number; ok: number; failed: number } | null;
  /** when `result` was recorded (a quick execution records one per pass) */
  resultAt: number | null;
  /** why the execution failed (the machine itself, not one cluster) */
  error: string | null;
  readonly done: Promise<void>;
}

/** What the runner knows about its executions. */
export interface LocalRunnerStatus {
  readonly lastFull: LocalExecution | null;
  readonly lastQuick: LocalExecution | null;
  readonly running: readonly LocalExecution[];
}

/** The runner was stopped: no execution can start any more. */
export class LocalRunnerStoppedError extends Error {
  override readonly name = 'LocalRunnerStoppedError';
}

/** Wraps a Lambda handler module's `handler` as a state machine task (fresh context per call). */
export function taskHandlerFromLambda(
  functionName: string,
  handler: LambdaStyleHandler,
  timeoutMs = 900_000,
): TaskHandler {
  return async (input) => {
    const context = createLambdaContext(functionName, randomUUID(), Date.now() + timeoutMs);
    return await handler(input, context);
  };
}

/** Number of quick passes of the quick machine (one `SyncClusterN` task per pass). */
export function quickPassCount(definition: StateMachineDefinition): number {
  return Math.max(1, taskStateNames(definition).filter((name) => /^SyncCluster\d+$/.test(name)).length);
}

/** Names of the Wait states between quick passes, nested Map iterations included. */
export function waitStateNames(definition: StateMachineDefinition): string[] {
  const names: string[] = [];
  const visit = (machine: unknown): void => {
    if (typeof machine !== 'object' || machine === null) return;
    const states = (machine as { States?: unknown }).States;
    if (typeof states !== 'object' || states === null) return;
    for (const [name, state] of Object.entries(states as Record<string, unknown>)) {
      if (typeof state !== 'object' || state === null) continue;
      const nested = state as { Type?: unknown; ItemProcessor?: unknown; Iterator?: unknown };
      if (nested.Type === 'Wait') names.push(name);
      visit(nested.ItemProcessor);
      visit(nested.Iterator);
    }
  };
  visit(definition);
  return names;
}

const isRecordRunOutput = (value: unknown): value is { clusters: number; ok: number; failed: number } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Record<string, unknown>).clusters === 'number' &&
  typeof (value as Record<string, unknown>).ok === 'number' &&
  typeof (value as Record<string, unknown>).failed === 'number';

/** Runs the sync state machines locally, on schedule and on demand. */
export class LocalSyncRunner {
  private readonly options: LocalSyncRunnerOptions;
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<string, { execution: LocalExecution; abort: AbortController }>();
  /** Every execution by name, like Step Functions' name deduplication (the oldest are forgotten). */
  private readonly history = new Map<string, LocalExecution>();
  private readonly bound: { full: Record<string, TaskHandler>; quick: Record<string, TaskHandler> };
  private readonly quickWaits: Record<string, number>;
  /** Task calls under way: an aborted execution does not stop a handler already running. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastFull: LocalExecution | null = null;
  private lastQuick: LocalExecution | null = null;
  private stopped = false;

  constructor(options: LocalSyncRunnerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const { full, quick } = options.definitions;
    this.bound = {
      full: bindSyncTaskHandlers(full, options.handlers),
      quick: bindSyncTaskHandlers(quick, options.handlers),
    };
    this.quickWaits = Object.fromEntries(
      waitStateNames(quick).map((name) => [name, options.quickIntervalMs]),
    );
  }

  /**
   * Starts the schedules: a full sync now and every full interval; quick executions back to back,
   * per cluster when {@link LocalSyncRunnerOptions.quickClusterIds} names them.
   */
  startSchedules(): void {
    this.schedule('full', this.options.fullIntervalMs, true);
    // One quick execution covers `passes` intervals (Wait states shortened or stretched to the interval).
    const passes = quickPassCount(this.options.definitions.quick);
    const clusters = this.options.quickClusterIds ?? [];
    if (clusters.length === 0) {
      this.schedule('quick', passes * this.options.quickIntervalMs, false);
    } else {
      for (const clusterId of clusters) {
        this.schedule('quick', passes * this.options.quickIntervalMs, false, clusterId);
      }
    }
    for (const job of this.options.periodicJobs ?? []) this.schedulePeriodic(job);
  }

  /** Runs a periodic job every interval (first after one interval), logging a failure and going on. */
  private schedulePeriodic(job: LocalPeriodicJob): void {
    const tick = () => {
      if (this.stopped) return;
      const run = job
        .run()
        .catch((error: unknown) =>
          this.options.log?.(`${job.name} failed: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => {
          this.inFlight.delete(run);
          if (this.stopped) return;
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            tick();
          }, job.intervalMs);
          this.timers.add(timer);
        });
      this.inFlight.add(run);
    };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      tick();
    }, job.intervalMs);
    this.timers.add(timer);
  }

  private schedule(mode: SyncMode, periodMs: number, now: boolean, clusterId?: string): void {
    const tick = () => {
      if (this.stopped) return;
      // A scheduled run never overlaps its own previous run (EventBridge would start it; the
      // leases make it skip anyway). Other runs, on demand or of other clusters, never hold it.
      const busy = [...this.running.values()].some(
        (r) => r.execution.mode === mode && r.execution.clusterId === (clusterId ?? null),
      );
      if (!busy) this.start(mode, clusterId === undefined ? {} : { clusterId });
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        tick();
      }, periodMs);
      this.timers.add(timer);
    };
    if (now) {
      tick();
    } else {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          tick();
        },
        Math.min(periodMs, this.options.quickIntervalMs),
      );
      this.timers.add(timer);
    }
  }

  /**
   * Starts an execution of the full or quick machine (what StartExecution does on AWS) and returns
   * at once; `done` settles when it ends. A failed execution is recorded, never thrown.
   */
  start(
    mode: SyncMode,
    options: { clusterId?: string; name?: string; manual?: boolean } = {},
  ): LocalExecution {
    if (this.stopped) throw new LocalRunnerStoppedError('the local sync runner is stopped');
    const name = options.name ?? `${mode}-${this.now()}-${randomUUID().slice(0, 8)}`;
    const existing = this.history.get(name);
    if (existing !== undefined) return existing;
    const abort = new AbortController();
    const input = {
      mode,
      ...(options.clusterId === undefined ? {} : { cluster_id: options.clusterId }),
      ...(options.manual === true ? { manual: true } : {}),
    };
    const definition = this.options.definitions[mode];
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const execution: LocalExecution = {
      name,
      arn: `arn:aws:states:local:000000000000:execution:pve-inventory-${mode}-sync:${name}`,
      mode,
      clusterId: options.clusterId ?? null,
      startedAt: this.now(),
      finishedAt: null,
      result: null,
      resultAt: null,
      error: null,
      done,
    };
    this.running.set(name, { execution, abort });
    this.history.set(name, execution);
    if (this.history.size > 1000) {
      const oldest = this.history.keys().next().value;
      if (oldest !== undefined) this.history.delete(oldest);
    }
    const handlers = Object.fromEntries(
      Object.entries(this.bound[mode]).map(([state, handler]): [string, TaskHandler] => [
        state,
        async (taskInput) => {
          const call = handler(taskInput);
          this.inFlight.add(call);
          const output = await call.finally(() => this.inFlight.delete(call));
          if (syncTaskRoleOf(state) === 'recordRun' && isRecordRunOutput(output)) {
            execution.result = { clusters: output.clusters, ok: output.ok, failed: output.failed };
            execution.resultAt = this.now();
          }
          return output;
        },
      ]),
    );
    runStateMachine(definition, input, {
      taskHandlers: handlers,
      ...(mode === 'quick' ? { waitTimeOverrides: this.quickWaits } : {}),
      signal: abort.signal,
    })
      .catch((error: unknown) => {
        if (abort.signal.aborted) {
          execution.error = 'aborted';
          return;
        }
        execution.error = error instanceof Error ? error.message : String(error);
        this.options.log?.(`${mode} sync execution ${name} failed: ${execution.error}`);
      })
      .finally(() => {
        execution.finishedAt = this.now();
        this.running.delete(name);
        if (!abort.signal.aborted) {
          if (mode === 'full') this.lastFull = execution;
          else this.lastQuick = execution;
        }
        resolveDone();
      });
    return execution;
  }

  /** An execution by name or ARN (running or finished), if the runner still knows it. */
  find(nameOrArn: string): LocalExecution | undefined {
    const name = nameOrArn.includes(':execution:')
      ? nameOrArn.slice(nameOrArn.lastIndexOf(':') + 1)
      : nameOrArn;
    return this.history.get(name);
  }

  /** Runs an execution and waits for its end. */
  async run(mode: SyncMode, options: { clusterId?: string; name?: string } = {}): Promise<LocalExecution> {
    const execution = this.start(mode, options);
    await execution.done;
    return execution;
  }

  /** The executions running now and the last finished one of each kind. */
  status(): LocalRunnerStatus {
    return {
      lastFull: this.lastFull,
      lastQuick: this.lastQuick,
      running: [...this.running.values()].map((r) => r.execution),
    };
  }

  /** Clears the schedules, aborts running executions and waits for them to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const pending = [...this.running.values()];
    for (const { abort } of pending) abort.abort();
    await Promise.all(pending.map(({ execution }) => execution.done));
    await Promise.allSettled([...this.inFlight]);
  }
}

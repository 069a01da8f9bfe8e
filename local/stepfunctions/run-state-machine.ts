/**
 * Runs a state machine definition locally with aws-local-stepfunctions, each Lambda task bound to
 * a local function by state name.
 */
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type SyncTaskRole, syncTaskRoleOf } from '#shared/sync/contract.ts';

type Overrides = NonNullable<RunOptions['overrides']>;
type LocalHandlers = NonNullable<Overrides['taskResourceLocalHandlers']>;
/** A JSON value as the interpreter passes it around. */
export type JsonValue = Parameters<LocalHandlers[string]>[0];

/** A local task implementation: receives the task's effective input, returns its result. */
export type TaskHandler = (input: unknown) => Promise<unknown>;

/** Options of {@link runStateMachine}. */
export interface RunStateMachineOptions {
  /** Local implementation of each Task state, by state name (every Task must have one). */
  readonly taskHandlers: Readonly<Record<string, TaskHandler>>;
  /** Milliseconds each named Wait state pauses instead of its configured time. */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /** Milliseconds between retries of each named state instead of its configured interval. */
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
  /** Aborts the execution (the returned promise then rejects). */
  readonly signal?: AbortSignal;
}

/** Thrown when a value cannot travel through a state machine (not JSON). */
export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
}

/** Thrown when a Task state has no local handler (it would otherwise call AWS). */
export class MissingTaskHandlerError extends Error {
  override readonly name = 'MissingTaskHandlerError';
}

/** Converts a value to plain JSON as a Lambda payload would be serialized (undefined dropped, dates as strings). */
export function toJsonValue(value: unknown): JsonValue {
  const serialized = JSON.stringify(value);
  if (serialized === undefined) throw new NotJsonError(`not serializable as JSON: ${String(value)}`);
  return fromPlainJson(JSON.parse(serialized));
}

function fromPlainJson(value: unknown): JsonValue {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (Array.isArray(value)) return value.map(fromPlainJson);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) out[key] = fromPlainJson(item);
    return out;
  }
  throw new NotJsonError(`not JSON: ${typeof value}`);
}

interface StateLike {
  readonly Type?: unknown;
  readonly States?: unknown;
  readonly ItemProcessor?: unknown;
  readonly Iterator?: unknown;
  readonly Branches?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names of every Task state of a definition, nested Map and Parallel states included. */
export function taskStateNames(definition: StateMachineDefinition | Record<string, unknown>): string[] {
  const names: string[] = [];
  const visit = (machine: unknown): void => {
    if (!isRecord(machine) || !isRecord(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States)) {
      if (!isRecord(state)) continue;
      const nested: StateLike = state;
      if (nested.Type === 'Task') names.push(name);
      visit(nested.ItemProcessor);
      visit(nested.Iterator);
      if (Array.isArray(nested.Branches)) nested.Branches.forEach(visit);
    }
  };
  visit(definition);
  return names;
}

/**
 * Binds every Task state of a sync machine to the handler of its role (ListClusters, SyncCluster
 * and each quick pass's SyncClusterN, RecordRun and RecordRunN), e.g. to the real Lambda handlers.
 */
export function bindSyncTaskHandlers(
  definition: StateMachineDefinition,
  handlers: Readonly<Record<SyncTaskRole, TaskHandler>>,
): Record<string, TaskHandler> {
  const bound: Record<string, TaskHandler> = {};
  for (const name of taskStateNames(definition)) {
    const role = syncTaskRoleOf(name);
    if (role === undefined) throw new MissingTaskHandlerError(`Task state "${name}" is not a sync task`);
    bound[name] = handlers[role];
  }
  return bound;
}

/** Interpreters by definition: building one validates the whole definition, which is costly. */
const machines = new WeakMap<StateMachineDefinition, StateMachine>();

function machineFor(definition: StateMachineDefinition): StateMachine {
  let machine = machines.get(definition);
  if (machine === undefined) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(definition, machine);
  }
  return machine;
}

/**
 * Executes a definition locally and resolves with its output. Rejects with the interpreter's
 * `ExecutionError` (failed), `ExecutionTimeoutError` or `ExecutionAbortedError`.
 */
export async function runStateMachine(
  definition: StateMachineDefinition,
  input: unknown,
  options: RunStateMachineOptions,
): Promise<unknown> {
  for (const name of taskStateNames(definition)) {
    if (!options.taskHandlers[name])
      throw new MissingTaskHandlerError(`no local handler for Task state "${name}"`);
  }
  const localHandlers: LocalHandlers = {};
  for (const [name, handler] of Object.entries(options.taskHandlers)) {
    localHandlers[name] = async (taskInput) => toJsonValue(await handler(taskInput));
  }
  const machine = machineFor(definition);
  const execution = machine.run(toJsonValue(input), {
    overrides: {
      taskResourceLocalHandlers: localHandlers,
      waitTimeOverrides: { ...options.waitTimeOverrides },
      retryIntervalOverrides: { ...options.retryIntervalOverrides },
    },
  });
  const abort = (): void => execution.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await execution.result;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

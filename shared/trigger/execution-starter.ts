import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ListClustersInput, SyncMode } from '#shared/sync/contract.ts';

/**
 * The port that starts a sync state machine execution: StartExecution in AWS, the local runner on
 * one machine. Execution names are chosen by the trigger service (deterministic per time window).
 */
export interface ExecutionStarter {
  /**
   * Starts an execution of the mode's state machine under `name`. `started: false` when an
   * execution of that name already existed (Step Functions' own name deduplication).
   */
  start(
    mode: SyncMode,
    name: string,
    input: ListClustersInput,
  ): Promise<{ executionArn: string; started: boolean }>;
  /** Whether that execution still runs; null when it cannot be told (Express executions). */
  isRunning(mode: SyncMode, executionArn: string): Promise<boolean | null>;
}

/** StartExecution failed for another reason than a duplicate name. */
export class StartExecutionError extends Error {
  override readonly name = 'StartExecutionError';
}

/** ARNs of the two sync state machines. */
export interface SyncStateMachineArns {
  readonly full: string;
  readonly quick: string;
}

/**
 * The execution ARN Step Functions gives a Standard execution: the state machine's ARN with
 * `stateMachine` replaced by `execution`, plus the execution name.
 */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * The AWS adapter. The full sync is a Standard workflow: a duplicate name is refused with
 * `ExecutionAlreadyExists` (or answered with the running execution when the input is the same),
 * and DescribeExecution tells whether it still runs. The quick sync is an Express workflow, which
 * DescribeExecution does not serve: its `isRunning` is null and the trigger's window decides.
 */
export function sfnExecutionStarter(client: SFNClient, arns: SyncStateMachineArns): ExecutionStarter {
  return {
    async start(mode, name, input) {
      const stateMachineArn = arns[mode];
      try {
        const output = await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return { executionArn: output.executionArn ?? executionArnOf(stateMachineArn, name), started: true };
      } catch (error) {
        if (
          error instanceof ExecutionAlreadyExists ||
          (error instanceof Error && error.name === 'ExecutionAlreadyExists')
        ) {
          return { executionArn: executionArnOf(stateMachineArn, name), started: false };
        }
        throw new StartExecutionError(
          `cannot start the ${mode} sync: ${error instanceof Error ? error.name : 'error'}`,
          { cause: error },
        );
      }
    },
    async isRunning(mode, executionArn) {
      if (mode === 'quick') return null;
      try {
        const output = await client.send(new DescribeExecutionCommand({ executionArn }));
        return output.status === 'RUNNING';
      } catch {
        // Not allowed (states:DescribeExecution is optional) or unavailable: the window decides.
        return null;
      }
    },
  };
}

/** The part of the local sync runner (local/stack) the local adapter uses. */
export interface LocalExecutionRunner {
  start(
    mode: SyncMode,
    options: { clusterId?: string; name?: string; manual?: boolean },
  ): { readonly arn: string; readonly finishedAt: number | null };
}

/** The local adapter: starts executions on the local runner, which returns a running one of the same name. */
export function localExecutionStarter(runner: LocalExecutionRunner): ExecutionStarter {
  const executions = new Map<string, { readonly arn: string; readonly finishedAt: number | null }>();
  return {
    async start(mode, name, input) {
      const known = [...executions.values()].find((execution) => execution.arn.endsWith(`:${name}`));
      if (known !== undefined) return { executionArn: known.arn, started: false };
      const execution = runner.start(mode, {
        name,
        ...(input.cluster_id === undefined ? {} : { clusterId: input.cluster_id }),
        ...(input.manual === true ? { manual: true } : {}),
      });
      executions.set(execution.arn, execution);
      return { executionArn: execution.arn, started: true };
    },
    async isRunning(_mode, executionArn) {
      const execution = executions.get(executionArn);
      return execution === undefined ? null : execution.finishedAt === null;
    },
  };
}

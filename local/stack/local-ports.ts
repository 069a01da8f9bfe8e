import type { TaskHandler } from '#local/stepfunctions/run-state-machine.ts';
import { parseTaskPayload, SyncSummarySchema } from '#shared/sync/contract.ts';
import type { ExecutionStarter } from '#shared/trigger/execution-starter.ts';
import type { LocalSyncRunner } from './sync-runner.ts';

/**
 * Binds the ports that differ between AWS and the local stack: the admin trigger's StartExecution
 * (locally: the local runner) and the list's refresh (locally: the sync-cluster handler called
 * directly, as the Lambda invoke would).
 */

/** What {@link bindLocalPorts} bound, and what it could not. */
export interface LocalPortBindings {
  readonly bound: readonly string[];
  readonly missing: readonly string[];
  unbind(): void;
}

/** Inputs of the local bindings. */
export interface LocalPortInputs {
  readonly runner: LocalSyncRunner;
  readonly syncCluster: TaskHandler;
}

/** The trigger's StartExecution port on the local runner (same name deduplication as Step Functions). */
export function localExecutionStarter(runner: LocalSyncRunner): ExecutionStarter {
  return {
    async start(mode, name, input) {
      const known = runner.find(name);
      if (known !== undefined) return { executionArn: known.arn, started: false };
      const execution = runner.start(mode, {
        name,
        ...(input.cluster_id === undefined ? {} : { clusterId: input.cluster_id }),
      });
      return { executionArn: execution.arn, started: true };
    },
    async isRunning(_mode, executionArn) {
      const execution = runner.find(executionArn);
      return execution === undefined ? null : execution.finishedAt === null;
    },
  };
}

/** Binds the trigger and refresh ports to the local runner and the local sync handler. */
export async function bindLocalPorts(inputs: LocalPortInputs): Promise<LocalPortBindings> {
  const bound: string[] = [];
  const missing: string[] = [];
  const unbinds: Array<() => void> = [];
  const { bindLocalExecutionStarter } = await import('#shared/trigger/wiring.ts');
  unbinds.push(bindLocalExecutionStarter(localExecutionStarter(inputs.runner)));
  bound.push('trigger');
  const { bindLocalSyncInvoker } = await import('#shared/refresh/wiring.ts');
  // As the Lambda invoke would: the sync-cluster handler with its payload, answer checked against the contract.
  unbinds.push(
    bindLocalSyncInvoker({
      syncCluster: async (input) =>
        parseTaskPayload(SyncSummarySchema, await inputs.syncCluster(input), 'SyncCluster output'),
    }),
  );
  bound.push('refresh');
  return {
    bound,
    missing,
    unbind() {
      for (const unbind of unbinds.splice(0)) unbind();
    },
  };
}

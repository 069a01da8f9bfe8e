import { SFNClient } from '@aws-sdk/client-sfn';
import { CONFIGURED_CLUSTER_IDS_ENV, configuredClusterIdsFromEnv } from '#shared/api/refresh-port.ts';
import { MissingSettingError } from '#shared/clients/dynamodb.ts';
import type { ExecutionStarter } from './execution-starter.ts';
import { sfnExecutionStarter } from './execution-starter.ts';

/**
 * Wiring of the trigger's StartExecution port at the adapter edge: Step Functions in AWS (state
 * machine ARNs from the environment), the local runner when the local stack binds it.
 */

/** Environment variables of the trigger function (set by the ApiStack). */
export const TRIGGER_ENV = {
  fullStateMachineArn: 'FULL_SYNC_STATE_MACHINE_ARN',
  quickStateMachineArn: 'QUICK_SYNC_STATE_MACHINE_ARN',
} as const;

/** The SyncState table name (the only table the trigger uses), failing when it is not set. */
export function syncStateTableFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const value = env.SYNC_STATE_TABLE?.trim();
  if (!value) throw new MissingSettingError('environment variable SYNC_STATE_TABLE is not set');
  return value;
}

/** The configured cluster ids (`CONFIGURED_CLUSTER_IDS`, set by the ApiStack and the local stack). */
export function requiredClusterIdsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const ids = configuredClusterIdsFromEnv(env);
  if (ids.length === 0)
    throw new MissingSettingError(`environment variable ${CONFIGURED_CLUSTER_IDS_ENV} is not set`);
  return ids;
}

let localStarter: ExecutionStarter | undefined;

/** Binds the starter the trigger uses in this process (the local stack). Returns the unbinding function. */
export function bindLocalExecutionStarter(starter: ExecutionStarter): () => void {
  localStarter = starter;
  return () => {
    if (localStarter === starter) localStarter = undefined;
  };
}

let sfnClient: SFNClient | undefined;

/** The bound local starter, else Step Functions on the ARNs in the environment (fails naming a missing one). */
export function executionStarterFromEnv(env: Readonly<Record<string, string | undefined>>): ExecutionStarter {
  if (localStarter !== undefined) return localStarter;
  const read = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new MissingSettingError(`environment variable ${name} is not set`);
    return value;
  };
  const arns = { full: read(TRIGGER_ENV.fullStateMachineArn), quick: read(TRIGGER_ENV.quickStateMachineArn) };
  sfnClient ??= new SFNClient({});
  return sfnExecutionStarter(sfnClient, arns);
}

import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { RefreshClustersPort } from '#shared/api/refresh-port.ts';
import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import type { SyncStateRepository } from '#shared/store/ports.ts';
import { createRefreshService, type RefreshLogger } from './refresh-service.ts';
import { DynamoDbRefreshStore } from './refresh-store.ts';
import { lambdaSyncInvoker, type SyncInvoker } from './sync-invoker.ts';

/**
 * Wiring of the refresh at the adapter edge: in AWS the sync-cluster function named by
 * `SYNC_CLUSTER_FUNCTION_NAME`; on one machine the invoker the local stack binds (a direct call
 * of the sync handler). Pure rules stay in refresh-service.ts.
 */

/** Environment variable naming the sync-cluster function (set by the ApiStack on the list handler). */
export const SYNC_CLUSTER_FUNCTION_ENV = 'SYNC_CLUSTER_FUNCTION_NAME';

let localInvoker: SyncInvoker | undefined;

/**
 * Binds the invoker the refresh uses in this process instead of Lambda (the local stack, before
 * the first request). Returns the unbinding function.
 */
export function bindLocalSyncInvoker(invoker: SyncInvoker): () => void {
  localInvoker = invoker;
  return () => {
    if (localInvoker === invoker) localInvoker = undefined;
  };
}

let lambdaClient: Promise<LambdaClient> | undefined;

/** The process's Lambda client, its module loaded on first use (see lambdaSyncInvoker). */
function lazyLambdaClient(): Promise<LambdaClient> {
  lambdaClient ??= import('@aws-sdk/client-lambda').then(({ LambdaClient }) => new LambdaClient({}));
  // A failed load is tried again by the next refresh.
  lambdaClient.catch(() => {
    lambdaClient = undefined;
  });
  return lambdaClient;
}

/** The invoker of this process: the bound local one, else Lambda when the function is named, else none. */
export function syncInvokerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): SyncInvoker | undefined {
  if (localInvoker !== undefined) return localInvoker;
  const functionName = env[SYNC_CLUSTER_FUNCTION_ENV]?.trim();
  if (!functionName) return undefined;
  return lambdaSyncInvoker(lazyLambdaClient, functionName);
}

/** What {@link refreshPortFromEnv} needs besides the environment. */
export interface RefreshWiring {
  readonly syncState: Pick<SyncStateRepository, 'getClusterState'>;
  readonly now: () => number;
  readonly logger?: RefreshLogger;
}

/**
 * The list's refresh port from the environment (`SYNC_STATE_TABLE` for the coordination records),
 * or undefined when no invoker is available: the list then answers from the table.
 */
export function refreshPortFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  wiring: RefreshWiring,
): RefreshClustersPort | undefined {
  const invoker = syncInvokerFromEnv(env);
  if (invoker === undefined) return undefined;
  const service = createRefreshService({
    store: new DynamoDbRefreshStore(getDocumentClient(), tableNamesFromEnv(env).syncState),
    invoker,
    syncState: wiring.syncState,
    now: wiring.now,
    ...(wiring.logger === undefined ? {} : { logger: wiring.logger }),
  });
  return service.refreshClusters;
}

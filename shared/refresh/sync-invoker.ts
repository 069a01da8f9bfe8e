import type { InvocationResponse, LambdaClient } from '@aws-sdk/client-lambda';
import {
  parseTaskPayload,
  type SyncClusterInput,
  type SyncService,
  type SyncSummary,
  SyncSummarySchema,
} from '#shared/sync/contract.ts';

/**
 * The port through which a refresh syncs one cluster now: in AWS a synchronous invocation of the
 * sync-cluster function (the read handler stays outside the VPC; invoking that one function is its
 * only extra grant), locally a direct call of the sync service.
 */
export interface SyncInvoker {
  /** Syncs one cluster and resolves with its summary (contract 5); rejects when the sync crashed. */
  syncCluster(input: SyncClusterInput): Promise<SyncSummary>;
}

/** The sync-cluster function could not be invoked, or it failed (its error, never a secret). */
export class SyncInvokeError extends Error {
  override readonly name = 'SyncInvokeError';
}

/** The local adapter: calls the sync service in this process. */
export function localSyncInvoker(service: Pick<SyncService, 'syncCluster'>): SyncInvoker {
  return { syncCluster: (input) => service.syncCluster(input) };
}

/** Reads the function's answer: a summary, or the function error it reported. */
export function summaryFromInvocation(response: InvocationResponse, functionName: string): SyncSummary {
  const text = response.Payload === undefined ? '' : Buffer.from(response.Payload).toString('utf8');
  if (response.FunctionError !== undefined) {
    let reason = response.FunctionError;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) {
        const message: unknown = Reflect.get(parsed, 'errorMessage');
        if (typeof message === 'string') reason = `${response.FunctionError}: ${message.slice(0, 300)}`;
      }
    } catch {
      // Not JSON: the error kind alone.
    }
    throw new SyncInvokeError(`${functionName} failed (${reason})`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new SyncInvokeError(`${functionName} answered something that is not JSON`);
  }
  try {
    return parseTaskPayload(SyncSummarySchema, payload, 'SyncCluster output');
  } catch (error) {
    throw new SyncInvokeError(`${functionName}: ${error instanceof Error ? error.message : 'bad answer'}`);
  }
}

/**
 * The AWS adapter: a RequestResponse invocation of the sync-cluster function. The Lambda client's
 * module is loaded on the first invocation, not when the list function starts: a refresh is rare,
 * and the SDK client costs every cold start that loads it (README "Cold import"). `client` may be
 * that lazily made client.
 */
export function lambdaSyncInvoker(
  client: LambdaClient | (() => Promise<LambdaClient>),
  functionName: string,
): SyncInvoker {
  const clientOf = typeof client === 'function' ? client : async () => client;
  return {
    async syncCluster(input) {
      let response: InvocationResponse;
      try {
        const [{ InvokeCommand }, lambda] = await Promise.all([import('@aws-sdk/client-lambda'), clientOf()]);
        response = await lambda.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            Payload: Buffer.from(JSON.stringify(input)),
          }),
        );
      } catch (error) {
        throw new SyncInvokeError(
          `cannot invoke ${functionName}: ${error instanceof Error ? error.name : 'error'}`,
          { cause: error },
        );
      }
      return summaryFromInvocation(response, functionName);
    },
  };
}

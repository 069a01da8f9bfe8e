import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { lambdaSyncInvoker, localSyncInvoker, SyncInvokeError } from '#shared/refresh/sync-invoker.ts';
import type { SyncSummary } from '#shared/sync/contract.ts';

const lambda = mockClient(LambdaClient);
const summary: SyncSummary = {
  cluster_id: 'lab-a',
  mode: 'quick',
  ok: true,
  vms: 12,
  changed: 2,
  writes: 3,
  proxmox_calls: 1,
  duration_ms: 420,
};
/** A response payload as the SDK hands it over (bytes that can also turn into a string). */
const bytes = (text: string) =>
  Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
const payload = (value: unknown) => bytes(JSON.stringify(value));

afterEach(() => {
  lambda.reset();
});

describe('lambdaSyncInvoker', () => {
  it('invokes the sync-cluster function synchronously and returns its summary', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(summary) });
    const invoker = lambdaSyncInvoker(new LambdaClient({}), 'pve-sync-cluster');
    expect(await invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).toEqual(summary);
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('pve-sync-cluster');
    expect(input?.InvocationType).toBe('RequestResponse');
    const sent = input?.Payload;
    if (!(sent instanceof Uint8Array)) throw new Error('the payload was not sent as bytes');
    expect(JSON.parse(Buffer.from(sent).toString('utf8'))).toEqual({
      cluster_id: 'lab-a',
      mode: 'quick',
    });
  });

  it('makes its client only when it first invokes, once given a factory', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(summary) });
    let made = 0;
    const invoker = lambdaSyncInvoker(async () => {
      made += 1;
      return new LambdaClient({});
    }, 'pve-sync-cluster');
    expect(made).toBe(0);
    expect(await invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).toEqual(summary);
    expect(made).toBe(1);
    const failing = lambdaSyncInvoker(async () => {
      throw new Error('module not found');
    }, 'f');
    await expect(failing.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).rejects.toBeInstanceOf(
      SyncInvokeError,
    );
  });

  it('turns an invocation failure into SyncInvokeError', async () => {
    const throttled = new Error('Rate exceeded');
    throttled.name = 'TooManyRequestsException';
    lambda.on(InvokeCommand).rejects(throttled);
    const invoker = lambdaSyncInvoker(new LambdaClient({}), 'pve-sync-cluster');
    const error = await invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncInvokeError);
    expect((error as Error).message).toBe('cannot invoke pve-sync-cluster: TooManyRequestsException');
  });

  it('reports the function’s own error (a crash or a timeout) with its message', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'Error', errorMessage: 'Task timed out after 300.00 seconds' }),
    });
    const invoker = lambdaSyncInvoker(new LambdaClient({}), 'pve-sync-cluster');
    await expect(invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).rejects.toThrow(
      'pve-sync-cluster failed (Unhandled: Task timed out after 300.00 seconds)',
    );
  });

  it('refuses an answer that is not a summary', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ cluster_id: 'lab-a' }) });
    const invoker = lambdaSyncInvoker(new LambdaClient({}), 'f');
    await expect(invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).rejects.toBeInstanceOf(
      SyncInvokeError,
    );
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('not json') });
    await expect(invoker.syncCluster({ cluster_id: 'lab-a', mode: 'quick' })).rejects.toThrow('not JSON');
  });
});

describe('localSyncInvoker', () => {
  it('calls the sync service in this process', async () => {
    const calls: unknown[] = [];
    const invoker = localSyncInvoker({
      syncCluster: async (input) => {
        calls.push(input);
        return summary;
      },
    });
    expect(await invoker.syncCluster({ cluster_id: 'lab-a', mode: 'full' })).toBe(summary);
    expect(calls).toEqual([{ cluster_id: 'lab-a', mode: 'full' }]);
  });
});

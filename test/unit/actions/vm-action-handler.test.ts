import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { ACTION_WAIT_ENV, createVmActionHandler, waitMsFromEnv } from '#functions/api/vm-action.ts';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext } from '#local/gateway/server.ts';
import type { ActionRequest, ActionResult, ActionService } from '#shared/actions/action-service.ts';
import { ACTION_FAILED_MESSAGE, ActionFailedError, ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import { routeKey, routes } from '#shared/http/routes.ts';
import { VmActionDoneResponseSchema, VmActionPendingResponseSchema } from '#shared/http/schemas/actions.ts';

const KEY = { cluster_id: 'lab-a', vmid: 101 };

async function call(
  perform: (request: ActionRequest) => Promise<ActionResult>,
  path: string,
  query = '',
  groups = '',
) {
  const requests: ActionRequest[] = [];
  const service: ActionService = {
    perform: (request) => {
      requests.push(request);
      return perform(request);
    },
  };
  const [, , , vmid = '', action = ''] = path.split('/');
  const handler = createVmActionHandler(async () => service);
  const event = buildHttpApiEvent({
    method: 'POST',
    rawPath: path,
    rawQueryString: query,
    headers: {},
    body: '',
    routeKey: routeKey(routes.vmAction),
    pathParameters: { vmid, action },
    requestId: 'req-1',
    jwt: { claims: { 'cognito:username': 'Alice@pve', 'cognito:groups': groups }, scopes: null },
  });
  const response = (await handler(
    event,
    createLambdaContext('vm-action', 'r', Date.now() + 30_000),
  )) as APIGatewayProxyStructuredResultV2;
  return { response, body: response.body === undefined ? undefined : JSON.parse(response.body), requests };
}

describe('POST /api/vm/{vmid}/{action}', () => {
  it('answers 200 with the confirmed status and passes the normalized caller and cluster', async () => {
    const { response, body, requests } = await call(
      async () => ({ outcome: 'confirmed', key: KEY, action: 'start', status: 'running', upid: 'UPID:x' }),
      '/api/vm/101/start',
      'cluster=lab-a',
    );
    expect(response.statusCode).toBe(200);
    expect(VmActionDoneResponseSchema.parse(body)).toEqual({
      ok: true,
      ...KEY,
      action: 'start',
      status: 'running',
      pending_action: null,
      upid: 'UPID:x',
      unchanged: false,
    });
    expect(requests).toEqual([
      {
        caller: { username: 'alice', roles: { admin: false, teacher: false } },
        vmid: 101,
        action: 'start',
        clusterId: 'lab-a',
      },
    ]);
  });

  it('answers 202 with the pending action and its UPID', async () => {
    const { response, body } = await call(
      async () => ({
        outcome: 'pending',
        key: KEY,
        action: 'shutdown',
        upid: 'UPID:y',
        reason: 'task-running',
      }),
      '/api/vm/101/shutdown',
    );
    expect(response.statusCode).toBe(202);
    expect(VmActionPendingResponseSchema.parse(body)).toEqual({
      ok: true,
      ...KEY,
      action: 'shutdown',
      pending_action: 'shutdown',
      upid: 'UPID:y',
    });
  });

  it('answers 200 ok with the current status and no UPID when the guest already was in the target state', async () => {
    const { response, body } = await call(
      async () => ({ outcome: 'unchanged', key: KEY, action: 'stop', status: 'stopped' }),
      '/api/vm/101/stop',
    );
    expect(response.statusCode).toBe(200);
    expect(VmActionDoneResponseSchema.parse(body)).toEqual({
      ok: true,
      ...KEY,
      action: 'stop',
      status: 'stopped',
      pending_action: null,
      upid: null,
      unchanged: true,
    });
  });

  it('keeps the one error shape (no ok field) on errors', async () => {
    const { body } = await call(
      () => Promise.reject(new ActionFailedError('VM is locked (backup)', 'UPID:z')),
      '/api/vm/101/start',
    );
    expect(Object.keys(body)).toEqual(['error']);
  });

  it('gives a user a generic reason and the request id for a failed task, an admin Proxmox’s text (409)', async () => {
    const failed = () =>
      Promise.reject(
        new ActionFailedError("can't lock file '/var/lock/qemu-server/lock-101.conf'", 'UPID:pve1:z'),
      );
    const user = await call(failed, '/api/vm/101/start');
    expect(user.response.statusCode).toBe(409);
    expect(user.body).toEqual({
      error: { code: 'action_failed', message: ACTION_FAILED_MESSAGE, request_id: 'req-1' },
    });
    const admin = await call(failed, '/api/vm/101/start', '', '[admins]');
    expect(admin.body).toEqual({
      error: {
        code: 'action_failed',
        message: ACTION_FAILED_MESSAGE,
        request_id: 'req-1',
        detail: "can't lock file '/var/lock/qemu-server/lock-101.conf'",
        details: [{ upid: 'UPID:pve1:z' }],
      },
    });
  });

  it('answers 502 when Proxmox is unreachable: generic for a user, the detail for an admin', async () => {
    const unreachable = () =>
      Promise.reject(new ProxmoxUnavailableError('lab-a: connect ECONNREFUSED 10.0.0.5:8006 (node pve1)'));
    const user = await call(unreachable, '/api/vm/101/reboot');
    expect(user.response.statusCode).toBe(502);
    expect(user.body.error).toEqual({
      code: 'proxmox_unavailable',
      message: 'Proxmox is unavailable; the action was not run',
      request_id: 'req-1',
    });
    const admin = await call(unreachable, '/api/vm/101/reboot', '', '[admins]');
    expect(admin.response.statusCode).toBe(502);
    expect(admin.body.error.detail).toContain('ECONNREFUSED 10.0.0.5:8006');
  });

  it('refuses an unknown action with 400 naming the field, without calling the service', async () => {
    const { response, body, requests } = await call(async () => {
      throw new Error('not reached');
    }, '/api/vm/101/hibernate');
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(body.error.details)).toContain('path.action');
    expect(requests).toEqual([]);
  });
});

describe(`${ACTION_WAIT_ENV}`, () => {
  it('defaults to 5 s', () => {
    expect(waitMsFromEnv({})).toBe(5_000);
  });

  it('accepts 0 to 10 s', () => {
    expect(waitMsFromEnv({ [ACTION_WAIT_ENV]: '0' })).toBe(0);
    expect(waitMsFromEnv({ [ACTION_WAIT_ENV]: '2.5' })).toBe(2_500);
    expect(waitMsFromEnv({ [ACTION_WAIT_ENV]: '10' })).toBe(10_000);
  });

  it.each(['25', '10.5', '-1', 'soon', 'Infinity'])('refuses %s, naming the setting and the range', (raw) => {
    expect(() => waitMsFromEnv({ [ACTION_WAIT_ENV]: raw })).toThrow(
      /ACTION_WAIT_SECONDS must be a number of seconds from 0 to 10/,
    );
  });
});

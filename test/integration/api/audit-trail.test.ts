import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createVmActionHandler } from '#functions/api/vm-action.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { type ActionGateway, createActionService } from '#shared/actions/action-service.ts';
import type { AuditPort } from '#shared/audit/audit-port.ts';
import { ListAuditResponseSchema } from '#shared/http/schemas/audit.ts';
import { type ApiWorld, freshClusterState, seedTestOwnership, startApiWorld, vmItem } from './api-world.ts';

/**
 * The audit trail through the local gateway and the real handlers on DynamoDB Local: a power
 * action's entry (who, what, target, when, result, request id) with its TTL, refused requests,
 * the filters and paging of GET /api/audit, students refused, and an audit store that hangs or
 * fails never blocking or failing the action.
 */

let world: ApiWorld;
let auditOverride: AuditPort | undefined;

const proxmox: ActionGateway = {
  powerAction: async (node, _type, vmid, action) =>
    `UPID:${node}:00000001:00000002:6744F00D:qm${action}:${vmid}:root@pam:`,
  waitForTask: async (upid) => ({ finished: true, upid, exitStatus: 'OK', ok: true }),
  guestStatus: async () => ({ status: 'running' }),
};

beforeAll(async () => {
  let actionHandler: GatewayLambdaHandler | undefined;
  world = await startApiWorld('api-audit', {
    vmAction: (event: never, context: Context) => actionHandler?.(event, context),
  });
  actionHandler = createVmActionHandler(
    async () =>
      createActionService({
        inventory: world.repositories.inventory,
        ownership: world.repositories.ownership,
        clusterIds: async () => ['lab-a', 'lab-b'],
        gatewayFor: async () => proxmox,
        waitMs: 1_000,
      }),
    () => auditOverride ?? world.deps.audit,
  );
  await world.repositories.inventory.batchPut([
    vmItem('lab-a', 101, { status: 'stopped' }),
    vmItem('lab-a', 102),
    vmItem('lab-b', 101),
  ]);
  await world.repositories.syncState.putClusterState(freshClusterState('lab-a'));
  await world.repositories.syncState.putClusterState(freshClusterState('lab-b'));
  await seedTestOwnership(world.repositories.ownership);
});

afterAll(async () => {
  await world?.close();
});

const audit = async (query: string, token = world.tokens.admin) => {
  const response = await world.request('GET', `/api/audit${query}`, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return ListAuditResponseSchema.parse(await response.json());
};

describe('audit trail', () => {
  let actionRequestId: string | null = null;
  const startedAt = 0;

  it('records a power action: who, what, target, when, result and request id, kept 400 days', async () => {
    const response = await world.request('POST', '/api/vm/101/start?cluster=lab-a', {
      token: world.tokens.studentA,
    });
    expect(response.status).toBe(200);
    actionRequestId = response.headers.get('apigw-requestid');
    const { entries } = await audit('?user=alice');
    const at = Date.parse(entries[0]?.at ?? '');
    expect(at).toBeGreaterThanOrEqual(startedAt - 1);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(entries).toEqual([
      {
        at: new Date(at).toISOString(),
        actor: 'alice',
        action: 'vmAction',
        target: { cluster_id: 'lab-a', vmid: 101, operation: 'start' },
        result: 'success',
        status: 200,
        error_code: null,
        request_id: actionRequestId,
      },
    ]);
    const stored = await world.tables.documentClient.send(
      new QueryCommand({
        TableName: world.tables.names.audit,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `MONTH#${new Date(at).toISOString().slice(0, 7)}` },
      }),
    );
    expect(stored.Items?.[0]?.expires_at).toBe(Math.floor(at / 1000) + 400 * 86_400);
  });

  it('records refused changes with their error code, and not reads', async () => {
    expect(
      (await world.request('DELETE', '/api/classes/net-a/members/carol', { token: world.tokens.studentA }))
        .status,
    ).toBe(403);
    expect((await world.request('GET', '/api/vms', { token: world.tokens.studentA })).status).toBe(200);
    const { entries } = await audit('?user=alice');
    expect(entries.map((e) => [e.action, e.result, e.error_code, e.target])).toEqual([
      ['deleteClassMember', 'refused', 'forbidden', { class_id: 'net-a', username: 'carol' }],
      ['vmAction', 'success', null, { cluster_id: 'lab-a', vmid: 101, operation: 'start' }],
    ]);
  });

  it('filters by VM, class and time range, and pages with an opaque cursor', async () => {
    const put = await world.request('PUT', '/api/classes/net-a/members/dan', {
      token: world.tokens.teacher,
      body: {},
    });
    expect(put.status).toBe(200);
    expect((await audit('?cluster=lab-a&vmid=101')).entries.map((e) => e.request_id)).toEqual([
      actionRequestId,
    ]);
    expect((await audit('?cluster=lab-b&vmid=101')).entries).toEqual([]);
    expect((await audit('?class=net-a')).entries.map((e) => `${e.actor}:${e.action}`)).toEqual([
      'carol:putClassMember',
      'alice:deleteClassMember',
    ]);
    expect((await audit('?class=net-a&user=carol')).entries.map((e) => e.action)).toEqual(['putClassMember']);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect((await audit(`?from=${iso(startedAt - 1000)}&to=${iso(Date.now())}`)).entries).toHaveLength(3);
    expect((await audit(`?from=${iso(Date.now() + 60_000)}`)).entries).toEqual([]);
    expect((await audit(`?to=${iso(startedAt - 1000)}`)).entries).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await audit(`?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...page.entries.map((e) => e.request_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('refuses students and teachers, and bad filters with a 400 naming them', async () => {
    for (const token of [world.tokens.studentA, world.tokens.teacher]) {
      expect((await world.request('GET', '/api/audit', { token })).status).toBe(403);
    }
    const bad = await world.request('GET', '/api/audit?vmid=101', { token: world.tokens.admin });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('query.cluster');
    const cursor = await world.request('GET', '/api/audit?cursor=eyJ4IjoxfQ', { token: world.tokens.admin });
    expect(cursor.status).toBe(400);
    expect(await cursor.text()).toContain('query.cursor');
  });

  it('never blocks or fails the action when the audit store hangs or fails', async () => {
    const before = (await audit('?cluster=lab-a&vmid=101')).entries.length;
    for (const port of [
      { recordAudit: () => new Promise<void>(() => {}) },
      { recordAudit: async () => Promise.reject(new Error('audit table unavailable')) },
    ] satisfies AuditPort[]) {
      auditOverride = port;
      const response = await world.request('POST', '/api/vm/101/stop?cluster=lab-a', {
        token: world.tokens.admin,
      });
      expect(response.status).toBe(200);
    }
    auditOverride = undefined;
    expect((await audit('?cluster=lab-a&vmid=101')).entries).toHaveLength(before);
  });
});

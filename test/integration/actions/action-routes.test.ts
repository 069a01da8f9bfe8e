import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createTriggerHandler } from '#functions/api/sync-trigger.ts';
import { createVmActionHandler } from '#functions/api/vm-action.ts';
import { createLambdaContext, type GatewayLambdaHandler } from '#local/gateway/server.ts';
import { type ActionGateway, createActionService } from '#shared/actions/action-service.ts';
import { routes } from '#shared/http/routes.ts';
import type { ExecutionStarter } from '#shared/trigger/execution-starter.ts';
import { createTriggerService } from '#shared/trigger/trigger-service.ts';
import { DynamoDbTriggerStore } from '#shared/trigger/trigger-store.ts';
import { badInputArbitrary, badInputEvent, checkBadInputResponse } from '../../helpers/bad-input.ts';
import { type RefusedTokens, refusedTokens } from '../../helpers/tokens.ts';
import {
  type ApiWorld,
  freshClusterState,
  seedTestOwnership,
  startApiWorld,
  vmItem,
} from '../api/api-world.ts';

/**
 * The action and trigger routes through the local gateway (the HTTP API's JWT authorizer) with the
 * real handlers on DynamoDB Local: the authorization matrix of these two routes, the VMID present
 * on two clusters, and generated bad input. Proxmox and Step Functions are in-memory stand-ins
 * here (the simulator tests are in action-service.test.ts).
 *
 * World (as in the API's matrix): alice (student A) owns lab-a:101 and, through class `net-a`
 * (teacher carol), lab-a:102; bob (student B) owns lab-b:101 — the same VMID on another cluster.
 */

let world: ApiWorld;
let refused: RefusedTokens;
let powerCalls: string[];
let executions: string[];

/** Proxmox stand-in: every task succeeds at once. */
const proxmox: ActionGateway = {
  powerAction: async (node, _type, vmid, action) => {
    powerCalls.push(`${node}/${vmid}/${action}`);
    return `UPID:${node}:00000001:00000002:6744F00D:qm${action}:${vmid}:root@pam:`;
  },
  waitForTask: async (upid) => ({ finished: true, upid, exitStatus: 'OK', ok: true }),
  guestStatus: async () => ({ status: 'running' }),
};

/** Step Functions stand-in. */
const stepFunctions: ExecutionStarter = {
  async start(mode, name) {
    executions.push(name);
    return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${mode}:${name}`, started: true };
  },
  isRunning: async () => false,
};

beforeAll(async () => {
  powerCalls = [];
  executions = [];
  let handlers: Record<string, GatewayLambdaHandler> = {};
  world = await startApiWorld('actions-routes', {
    vmAction: (event: never, context: Context) => handlers.vmAction?.(event, context),
    triggerSync: (event: never, context: Context) => handlers.triggerSync?.(event, context),
  });
  const { repositories } = world;
  const actions = createActionService({
    inventory: repositories.inventory,
    ownership: repositories.ownership,
    clusterIds: async () => ['lab-a', 'lab-b'],
    gatewayFor: async () => proxmox,
    waitMs: 1_000,
  });
  const triggers = createTriggerService({
    store: new DynamoDbTriggerStore(world.tables.documentClient, world.tables.names.syncState),
    starter: stepFunctions,
  });
  handlers = {
    vmAction: createVmActionHandler(async () => actions),
    triggerSync: createTriggerHandler(() => triggers) as GatewayLambdaHandler,
  };
  refused = await refusedTokens(world.issuer);
  const { inventory, syncState, ownership } = repositories;
  await inventory.batchPut([
    vmItem('lab-a', 101),
    vmItem('lab-a', 102),
    vmItem('lab-b', 101),
    vmItem('lab-b', 150),
  ]);
  await syncState.putClusterState(freshClusterState('lab-a'));
  await syncState.putClusterState(freshClusterState('lab-b'));
  await seedTestOwnership(ownership);
});

afterAll(async () => {
  await world?.close();
});

const USERS = ['studentA', 'studentB', 'teacher', 'admin'] as const;
const BAD_TOKENS = ['none', 'forged', 'expired', 'wrongAudience'] as const;

describe('authorization matrix of the action and trigger routes', () => {
  const cells = {
    vmAction: {
      method: 'POST',
      path: '/api/vm/102/reboot?cluster=lab-a',
      expect: { studentA: 200, studentB: 404, teacher: 200, admin: 200 },
    },
    triggerSync: {
      method: 'POST',
      path: '/api/sync/trigger',
      body: { mode: 'quick', cluster_id: 'lab-a' },
      expect: { studentA: 403, studentB: 403, teacher: 403, admin: 202 },
    },
  } as const;

  describe.each(BAD_TOKENS)('with %s token', (kind) => {
    it.each(Object.entries(cells))('%s is refused by the authorizer (401)', async (_id, cell) => {
      const before = powerCalls.length + executions.length;
      const response = await world.request(cell.method, cell.path, {
        ...(kind === 'none' ? {} : { token: refused[kind] }),
        ...('body' in cell ? { body: cell.body } : {}),
      });
      expect(response.status).toBe(401);
      expect(powerCalls.length + executions.length).toBe(before);
    });
  });

  describe.each(USERS)('as %s', (user) => {
    it.each(Object.entries(cells))('%s', async (_id, cell) => {
      const response = await world.request(cell.method, cell.path, {
        token: world.tokens[user],
        ...('body' in cell ? { body: cell.body } : {}),
      });
      expect(response.status, await response.clone().text()).toBe(cell.expect[user]);
    });
  });
});

describe('an action on a VMID present on two clusters', () => {
  const act = (token: string, path: string) => world.request('POST', path, { token });

  it("acts on the caller's own VM and never reveals the other cluster's", async () => {
    const mine = await act(world.tokens.studentA, '/api/vm/101/start');
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({ cluster_id: 'lab-a', vmid: 101, status: 'running' });
    expect((await act(world.tokens.studentA, '/api/vm/101/start?cluster=lab-b')).status).toBe(404);
    expect((await act(world.tokens.studentB, '/api/vm/101/stop')).status).toBe(200);
    expect((await act(world.tokens.studentB, '/api/vm/101/stop?cluster=lab-a')).status).toBe(404);
    expect((await act(world.tokens.studentB, '/api/vm/150/stop')).status).toBe(404);
  });

  it('asks an admin to name the cluster (409 listing both)', async () => {
    const response = await act(world.tokens.admin, '/api/vm/101/shutdown');
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({
      error: {
        code: 'conflict',
        details: [
          { cluster_id: 'lab-a', vmid: 101 },
          { cluster_id: 'lab-b', vmid: 101 },
        ],
      },
    });
  });
});

describe('bad input on the action and trigger routes', () => {
  const RUNS = 250;
  const CLAIMS = {
    admin: { 'cognito:username': 'dave', 'cognito:groups': '[admins]' },
    student: { 'cognito:username': 'alice' },
  };
  const call = async (handler: GatewayLambdaHandler, event: unknown) =>
    (await (handler as (e: unknown, c: Context) => Promise<APIGatewayProxyStructuredResultV2>)(
      event,
      createLambdaContext('test', 'req', Date.now() + 30_000),
    )) as APIGatewayProxyStructuredResultV2;

  it.each([
    ['vmAction', 'admin'],
    ['vmAction', 'student'],
    ['triggerSync', 'admin'],
    ['triggerSync', 'student'],
  ] as const)('%s as %s: never a 5xx, every 4xx names the field', async (routeId, who) => {
    const route = routes[routeId];
    const handler =
      routeId === 'vmAction'
        ? createVmActionHandler(async () =>
            createActionService({
              inventory: world.repositories.inventory,
              ownership: world.repositories.ownership,
              clusterIds: async () => ['lab-a', 'lab-b'],
              gatewayFor: async () => proxmox,
            }),
          )
        : (createTriggerHandler(() =>
            createTriggerService({
              store: new DynamoDbTriggerStore(world.tables.documentClient, world.tables.names.syncState),
              starter: stepFunctions,
            }),
          ) as GatewayLambdaHandler);
    await fc.assert(
      fc.asyncProperty(badInputArbitrary(route), async (testCase) => {
        const result = await call(handler, badInputEvent(testCase, CLAIMS[who]));
        const body = result.isBase64Encoded
          ? Buffer.from(result.body ?? '', 'base64').toString()
          : (result.body ?? '');
        expect(checkBadInputResponse(testCase, result.statusCode ?? 200, body)).toBeNull();
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });
});

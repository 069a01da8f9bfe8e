import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBulkActionHandler } from '#functions/api/bulk-action.ts';
import { createGetBulkActionHandler } from '#functions/api/get-bulk-action.ts';
import { type ActionGateway, createActionService } from '#shared/actions/action-service.ts';
import { DynamoDbBulkJobStore } from '#shared/store/dynamodb/bulk-job-repository.ts';
import { DynamoDbClassScheduleStore } from '#shared/store/dynamodb/class-schedule-repository.ts';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createGetVmHandler } from '#functions/api/get-vm.ts';
import { createListAuditHandler } from '#functions/api/list-audit.ts';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { handler as notFoundHandler } from '#functions/api/not-found.ts';
import { handler as openApiHandler } from '#functions/api/openapi.ts';
import { createSyncHealthHandler } from '#functions/api/sync-health.ts';
import { createSyncStatsHandler } from '#functions/api/sync-stats.ts';
import { createVmHistoryHandler } from '#functions/api/vm-history.ts';
import { createVmIpHandler } from '#functions/api/vm-ip.ts';
import { createVmStatusHandler } from '#functions/api/vm-status.ts';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext, type GatewayLambdaHandler } from '#local/gateway/server.ts';
import { notFoundRoute, routeKey, routeList, routes } from '#shared/http/routes.ts';
import { badInputArbitrary, badInputEvent, checkBadInputResponse } from '../../helpers/bad-input.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld, vmItem } from './api-world.ts';
import { ownershipHandlers, scheduleHandlers } from './ownership-handlers.ts';

/**
 * Bad queries, paths and bodies against the real handlers of this part (on DynamoDB Local): never
 * a 5xx, and every case built to break one field gets a 400 naming it. The action and trigger
 * routes belong to another part and are exercised there.
 */

const RUNS_PER_ROUTE = 60;
const OTHER_PARTS = new Set(['vmAction', 'triggerSync']);

let world: ApiWorld;
let handlers: Record<string, GatewayLambdaHandler>;

beforeAll(async () => {
  world = await startApiWorld('api-bad');
  await world.repositories.inventory.batchPut([vmItem('lab-a', 101)]);
  await world.repositories.syncState.putClusterState(freshClusterState('lab-a'));
  await world.repositories.ownership.putAssignment({
    username: 'alice',
    cluster_id: 'lab-a',
    vmid: 101,
    source: 'admin',
    created_at: NOW_MS,
  });
  const deps = () => world.deps;
  handlers = {
    listVms: createListVmsHandler(deps),
    getVm: createGetVmHandler(deps),
    getVmHistory: createVmHistoryHandler(deps),
    getVmStatus: createVmStatusHandler(deps),
    getVmIp: createVmIpHandler(deps),
    getSyncStats: createSyncStatsHandler(deps),
    getSyncHealth: createSyncHealthHandler(deps),
    listAudit: createListAuditHandler(deps),
    getOpenApi: openApiHandler,
    ...ownershipHandlers(deps),
    ...scheduleHandlers(
      deps,
      () => new DynamoDbClassScheduleStore(world.tables.documentClient, world.tables.names.ownership),
    ),
    bulkAction: createBulkActionHandler(async () => ({
      inventory: world.repositories.inventory,
      ownership: world.repositories.ownership,
      jobs: bulkJobs(),
      newId: randomUUID,
      actionService: (waitMs) =>
        createActionService({
          inventory: world.repositories.inventory,
          ownership: world.repositories.ownership,
          clusterIds: async () => ['lab-a'],
          gatewayFor: async () => proxmox,
          waitMs,
        }),
      workerLimit: () => 3,
    })),
    getBulkAction: createGetBulkActionHandler(deps, bulkJobs),
  };
});

/** Proxmox stand-in for the bulk action (a valid request may reach it): every task succeeds at once. */
const proxmox: ActionGateway = {
  powerAction: async (node, _type, vmid, action) =>
    `UPID:${node}:00000001:00000002:6744F00D:qm${action}:${vmid}:root@pam:`,
  waitForTask: async (upid) => ({ finished: true, upid, exitStatus: 'OK', ok: true }),
  guestStatus: async () => ({ status: 'running' }),
};

const bulkJobs = () => new DynamoDbBulkJobStore(world.tables.documentClient, world.tables.names.syncState);

afterAll(async () => {
  await world?.close();
});

const CLAIMS = {
  admin: { 'cognito:username': 'dave', 'cognito:groups': '[admins]' },
  student: { 'cognito:username': 'alice' },
} as const;

const call = async (
  handler: GatewayLambdaHandler,
  event: unknown,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const context: Context = createLambdaContext('test', 'req', Date.now() + 30_000);
  const result = await (handler as (e: unknown, c: Context) => Promise<APIGatewayProxyStructuredResultV2>)(
    event,
    context,
  );
  return result;
};

describe('bad input on every route of this part', () => {
  const ours = routeList.filter((route) => !OTHER_PARTS.has(route.id));

  it('covers at least 1,000 generated cases', () => {
    expect(ours.length * RUNS_PER_ROUTE * Object.keys(CLAIMS).length).toBeGreaterThanOrEqual(1000);
  });

  describe.each(Object.entries(CLAIMS))('as %s', (_who, claims) => {
    it.each(ours.map((route) => [route.id, route] as const))(
      '%s: never a 5xx, every 4xx names the field',
      async (_id, route) => {
        const handler = handlers[route.id];
        expect(handler).toBeDefined();
        await fc.assert(
          fc.asyncProperty(badInputArbitrary(route), async (testCase) => {
            const event = badInputEvent(testCase, route.auth === 'jwt' ? claims : undefined);
            const result = await call(handler as GatewayLambdaHandler, event);
            const body = result.isBase64Encoded
              ? Buffer.from(result.body ?? '', 'base64').toString()
              : (result.body ?? '');
            const problem = checkBadInputResponse(testCase, result.statusCode ?? 200, body);
            expect(problem).toBeNull();
          }),
          { numRuns: RUNS_PER_ROUTE, seed: 5 },
        );
      },
    );
  });
});

describe('the catch-all of unknown routes ($default)', () => {
  it('answers any method, path, query and body 404 not_found in the error shape, echoing at most 200 path characters', async () => {
    const segment = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => encodeURIComponent(s));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.array(segment, { maxLength: 12 }),
        fc.string({ maxLength: 300 }),
        fc.option(fc.string({ maxLength: 500 }), { nil: undefined }),
        async (method, segments, query, body) => {
          const rawPath = `/${segments.join('/')}`;
          const event = buildHttpApiEvent({
            method,
            rawPath,
            rawQueryString: encodeURIComponent(query),
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body: body ?? '',
            routeKey: notFoundRoute.routeKey,
            requestId: 'req-fuzz',
          });
          const result = await call(notFoundHandler, event);
          expect(result.statusCode).toBe(404);
          const answer: unknown = JSON.parse(result.body ?? '');
          expect(answer).toEqual({
            error: {
              code: 'not_found',
              message: `No route for ${method} ${rawPath.slice(0, 200)}`,
              request_id: 'req-fuzz',
            },
          });
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });
});

/** Look-alikes of the configured group names, and of usernames with special meaning to JavaScript. */
const GROUP_LOOKALIKES = [
  'admins',
  'teachers',
  'ADMINS',
  'Admins',
  'admins ',
  ' admins',
  'x,admins',
  '[admins]',
  '"admins"',
  'Printer Admins',
  'lab admins',
  'admins,teachers',
  'admins\u200b',
];
const ODD_USERNAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\u200b',
  '\u200b\u200c\u2060',
  '\ufeffalice',
  'al\u200dice',
  'Jose\u0301',
  'a b',
  'ALICE@PVE',
];

describe('identity fuzz (issue 10, points 1–3)', () => {
  it('grants the admin role exactly when a group is spelled "admins" (through the gateway, real tokens)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...GROUP_LOOKALIKES), fc.string({ maxLength: 12 })), {
          maxLength: 4,
        }),
        async (groups) => {
          const token = await world.issuer.issueToken('fuzz', { groups });
          const response = await world.request('GET', '/api/assignments?limit=1', { token });
          expect(response.status).toBe(groups.includes('admins') ? 200 : 403);
        },
      ),
      { numRuns: RUNS_PER_ROUTE, seed: 10 },
    );
  });

  it('never lets a mappings key vanish: each one is imported or reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.oneof(fc.constantFrom(...ODD_USERNAMES), fc.string({ minLength: 1, maxLength: 8 })),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        async (keys) => {
          // Built as text, so that `__proto__` is a key of the file like any other.
          const text = `{${keys.map((key) => `${JSON.stringify(key)}:[101]`).join(',')}}`;
          const result = await call(
            handlers.importMappings as GatewayLambdaHandler,
            buildHttpApiEvent({
              method: 'POST',
              rawPath: '/api/assignments/import',
              rawQueryString: 'cluster=lab-a&dry_run=true',
              headers: { 'content-type': 'application/json' },
              body: text,
              routeKey: routeKey(routes.importMappings),
              jwt: { claims: CLAIMS.admin, scopes: null },
            }),
          );
          expect(result.statusCode).toBeLessThan(500);
          const body = JSON.parse(result.body ?? '{}') as {
            users?: number;
            error?: { details?: { field: string }[] };
          };
          if (result.statusCode === 200) {
            const normalized = new Set(
              keys.map((key) =>
                key
                  .normalize('NFC')
                  .trim()
                  .toLowerCase()
                  .replace(/@(pve|pam)$/, ''),
              ),
            );
            expect(body.users).toBe(normalized.size);
          } else {
            expect(result.statusCode).toBe(400);
            expect(body.error?.details?.length ?? 0).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: RUNS_PER_ROUTE, seed: 11 },
    );
  });
});

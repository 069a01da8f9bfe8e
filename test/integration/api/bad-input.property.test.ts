import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createGetVmHandler } from '#functions/api/get-vm.ts';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { handler as openApiHandler } from '#functions/api/openapi.ts';
import { createSyncHealthHandler } from '#functions/api/sync-health.ts';
import { createSyncStatsHandler } from '#functions/api/sync-stats.ts';
import { createVmIpHandler } from '#functions/api/vm-ip.ts';
import { createVmStatusHandler } from '#functions/api/vm-status.ts';
import { createLambdaContext, type GatewayLambdaHandler } from '#local/gateway/server.ts';
import { routeList } from '#shared/http/routes.ts';
import { badInputArbitrary, badInputEvent, checkBadInputResponse } from '../../helpers/bad-input.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld, vmItem } from './api-world.ts';
import { ownershipHandlers } from './ownership-handlers.ts';

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
    getVmStatus: createVmStatusHandler(deps),
    getVmIp: createVmIpHandler(deps),
    getSyncStats: createSyncStatsHandler(deps),
    getSyncHealth: createSyncHealthHandler(deps),
    getOpenApi: openApiHandler,
    ...ownershipHandlers(deps),
  };
});

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

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { LocalIssuer } from '#local/auth/issuer.ts';
import { type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import { routeList } from '#shared/http/routes.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import { createTestTables, dynamoDbEndpoint, type TestTables } from '../../helpers/dynamodb.ts';
import { createTestIssuer, TEST_AUDIENCE, testUserTokens } from '../../helpers/tokens.ts';
import { freshClusterState, vmItem } from './api-world.ts';

/**
 * The handler modules as deployed and as the local stack serves them: the gateway imports each
 * route's `handler` export, which wires itself from the environment (table names, DynamoDB
 * endpoint) on first use.
 */

let tables: TestTables;
let issuer: LocalIssuer;
let gateway: LocalGateway;
let tokens: Awaited<ReturnType<typeof testUserTokens>>;

beforeAll(async () => {
  tables = await createTestTables('api-default');
  process.env.DYNAMODB_ENDPOINT = dynamoDbEndpoint();
  process.env.INVENTORY_TABLE = tables.names.inventory;
  process.env.SYNC_STATE_TABLE = tables.names.syncState;
  process.env.OWNERSHIP_TABLE = tables.names.ownership;
  const repositories = createDynamoDbRepositories(tables.documentClient, tables.names);
  await repositories.inventory.batchPut([vmItem('lab-a', 101, { observed_at: Date.now() })]);
  await repositories.syncState.putClusterState(
    freshClusterState('lab-a', { total: 1, running: 1, error: 0 }, 0),
  );
  await repositories.syncState.updateClusterState('lab-a', {
    last_success_at: Date.now(),
    last_quick_sync_at: Date.now(),
    last_full_sync_at: Date.now(),
  });
  issuer = await createTestIssuer();
  tokens = await testUserTokens(issuer);
  gateway = await startLocalGateway({ port: 0, routes: routeList, issuer, audience: TEST_AUDIENCE });
});

afterAll(async () => {
  await gateway?.close();
  await tables?.drop();
});

describe('handler modules wired from the environment', () => {
  it('serve the list, the stats and the health through the gateway', async () => {
    const list = await fetch(`${gateway.url}/api/vms`, {
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(list.status).toBe(200);
    expect(ListVmsResponseSchema.parse(await list.json()).vms.map((vm) => vm.vmid)).toEqual([101]);
    const stats = await fetch(`${gateway.url}/api/sync/stats`, {
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(stats.status).toBe(200);
    const health = await fetch(`${gateway.url}/api/sync/health`);
    expect(health.status).toBe(200);
    const classes = await fetch(`${gateway.url}/api/classes`, {
      headers: { authorization: `Bearer ${tokens.studentA}` },
    });
    expect(await classes.json()).toEqual({ classes: [] });
  });

  it('serve an OpenAPI document listing every route of the table', async () => {
    const response = await fetch(`${gateway.url}/api/openapi.json`);
    const document = z
      .object({ paths: z.record(z.string(), z.record(z.string(), z.object({ operationId: z.string() }))) })
      .parse(await response.json());
    const operations = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    expect(operations.sort()).toEqual(routeList.map((route) => route.id).sort());
  });
});

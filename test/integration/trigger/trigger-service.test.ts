import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import {
  createTriggerHandler,
  handleOperatorInvocation,
  InvalidTriggerPayloadError,
} from '#functions/api/sync-trigger.ts';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext } from '#local/gateway/server.ts';
import { routeKey, routes } from '#shared/http/routes.ts';
import { TriggerSyncResponseSchema } from '#shared/http/schemas/sync.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { SyncMode } from '#shared/sync/contract.ts';
import type { ExecutionStarter } from '#shared/trigger/execution-starter.ts';
import { StartExecutionError } from '#shared/trigger/execution-starter.ts';
import { createTriggerService, type TriggerServiceDeps } from '#shared/trigger/trigger-service.ts';
import { DynamoDbTriggerStore } from '#shared/trigger/trigger-store.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

let tables: TestTables;
let store: DynamoDbTriggerStore;
let clusterSeq = 0;

beforeAll(async () => {
  tables = await createTestTables('trigger');
  store = new DynamoDbTriggerStore(tables.documentClient, tables.names.syncState);
});

afterAll(async () => {
  await tables?.drop();
});

/** A Step Functions stand-in: counts starts, knows which executions still run. */
function fakeStarter() {
  const started: { mode: SyncMode; name: string; input: unknown }[] = [];
  const finished = new Set<string>();
  const starter: ExecutionStarter = {
    async start(mode, name, input) {
      // Let concurrent triggers overlap inside the start.
      await new Promise((resolve) => setTimeout(resolve, 10));
      started.push({ mode, name, input });
      return {
        executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${mode}:${name}`,
        started: true,
      };
    },
    async isRunning(_mode, executionArn) {
      return !finished.has(executionArn);
    },
  };
  return { starter, started, finish: (arn: string) => finished.add(arn) };
}

function service(starter: ExecutionStarter, overrides: Partial<TriggerServiceDeps> = {}) {
  return createTriggerService({ store, starter, windowMs: 60_000, ...overrides });
}

const newCluster = () => `trig-${++clusterSeq}`;
const context = () => createLambdaContext('sync-trigger', 'req', Date.now() + 10_000);
const httpEvent = (groups: string, body: string) =>
  buildHttpApiEvent({
    method: 'POST',
    rawPath: '/api/sync/trigger',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    body,
    routeKey: routeKey(routes.triggerSync),
    jwt: { claims: { 'cognito:username': 'dave', 'cognito:groups': groups }, scopes: null },
  });

describe('a manual sync is an explicit retry', () => {
  it('refuses a cluster that is not configured with 400 naming body.cluster_id, starting nothing', async () => {
    const sfn = fakeStarter();
    const triggers = service(sfn.starter, { clusterIds: ['lab-a', 'lab-b'] });
    const handler = createTriggerHandler(() => triggers);
    const response = (await handler(
      httpEvent('[admins]', JSON.stringify({ mode: 'full', cluster_id: 'nope' })),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(400);
    expect(String(response.body)).toContain('body.cluster_id');
    expect(sfn.started).toEqual([]);
    await expect(handleOperatorInvocation({ mode: 'full', cluster_id: 'nope' }, triggers)).rejects.toThrow(
      /body\.cluster_id/,
    );
  });

  it('says per cluster what happens: started (through a backoff), coalesced with a running sync, skipped', async () => {
    const repositories = createDynamoDbRepositories(tables.documentClient, tables.names);
    const [backingOff, running, calm] = [newCluster(), newCluster(), newCluster()];
    const nowMs = Date.now();
    await repositories.syncState.updateClusterState(backingOff, {
      consecutive_errors: 3,
      backoff_until: nowMs + 300_000,
      updated_at: nowMs,
    });
    await repositories.syncState.acquireLease({
      clusterId: running,
      kind: 'full',
      owner: 'scheduled-run',
      ttlMs: 300_000,
      nowMs,
    });
    const sfn = fakeStarter();
    // Before the other tests' clocks: this test's "every cluster" trigger must not be joined by theirs.
    const triggers = service(sfn.starter, {
      clusterIds: [backingOff, running, calm],
      syncState: repositories.syncState,
      now: () => Date.parse('2026-11-25T20:00:00Z'),
    });
    const full = await triggers.trigger({ mode: 'full' });
    expect(full.started).toBe(true);
    expect(full.clusters).toEqual([
      {
        cluster_id: backingOff,
        outcome: 'started',
        reason: 'retrying now despite backoff after 3 consecutive errors (a success resets it)',
      },
      { cluster_id: running, outcome: 'coalesced', reason: 'a full sync of this cluster is running' },
      { cluster_id: calm, outcome: 'started', reason: null },
    ]);
    const quick = await triggers.trigger({ mode: 'quick', cluster_id: running });
    expect(quick.clusters).toEqual([
      { cluster_id: running, outcome: 'skipped', reason: 'a full sync of this cluster is running' },
    ]);
    // A manual quick sync is an explicit retry too: it runs through the backoff.
    const quickRetry = await triggers.trigger({ mode: 'quick', cluster_id: backingOff });
    expect(quickRetry.started).toBe(true);
    expect(quickRetry.clusters).toEqual([
      {
        cluster_id: backingOff,
        outcome: 'started',
        reason: 'retrying now despite backoff after 3 consecutive errors (a success resets it)',
      },
    ]);
    expect(sfn.started.at(-1)?.input).toEqual({ mode: 'quick', cluster_id: backingOff, manual: true });
    // Leave no "every cluster" trigger behind for the other tests.
    await store.release('full', null, full.execution_name);
  });
});

describe('trigger coalescing (DynamoDB Local)', () => {
  it('starts one execution for two concurrent triggers on two instances; both get it', async () => {
    const cluster = newCluster();
    const sfn = fakeStarter();
    const [a, b] = [service(sfn.starter), service(sfn.starter)];
    const [first, second] = await Promise.all([
      a.trigger({ mode: 'full', cluster_id: cluster }),
      b.trigger({ mode: 'full', cluster_id: cluster }),
    ]);
    expect(sfn.started).toHaveLength(1);
    expect(sfn.started[0]?.input).toEqual({ mode: 'full', cluster_id: cluster, manual: true });
    expect([first.started, second.started].sort()).toEqual([false, true]);
    expect(first.execution_name).toBe(second.execution_name);
    expect(first.execution_name).toMatch(new RegExp(`^manual-full-${cluster}-\\d{8}T\\d{6}$`));
  });

  it('returns the running execution for a trigger within the window, and while it runs after it', async () => {
    const cluster = newCluster();
    let clock = Date.parse('2026-11-25T22:00:10Z');
    const sfn = fakeStarter();
    const triggers = service(sfn.starter, { now: () => clock });
    const first = await triggers.trigger({ mode: 'quick', cluster_id: cluster });
    expect(first).toMatchObject({ started: true, mode: 'quick', cluster_id: cluster });
    expect(first.execution_name).toBe(`manual-quick-${cluster}-20261125T220000`);

    const joined = {
      ...first,
      started: false,
      clusters: [
        { cluster_id: cluster, outcome: 'coalesced', reason: 'joined the sync a recent trigger started' },
      ],
    };
    clock += 30_000;
    expect(await triggers.trigger({ mode: 'quick', cluster_id: cluster })).toEqual(joined);

    clock += 60_000;
    expect(await triggers.trigger({ mode: 'quick', cluster_id: cluster })).toEqual(joined);
    expect(sfn.started).toHaveLength(1);

    sfn.finish(first.execution_arn ?? '');
    const next = await triggers.trigger({ mode: 'quick', cluster_id: cluster });
    expect(next.started).toBe(true);
    expect(next.execution_name).toBe(`manual-quick-${cluster}-20261125T220100`);
    expect(sfn.started).toHaveLength(2);
  });

  it('keeps modes and cluster scopes apart; no cluster means every cluster', async () => {
    const sfn = fakeStarter();
    const triggers = service(sfn.starter, { now: () => Date.parse('2026-11-25T22:30:00Z') });
    const all = await triggers.trigger({ mode: 'full' });
    const one = await triggers.trigger({ mode: 'full', cluster_id: newCluster() });
    const quick = await triggers.trigger({ mode: 'quick' });
    expect([all.started, one.started, quick.started]).toEqual([true, true, true]);
    expect(all).toMatchObject({ cluster_id: null, execution_name: 'manual-full-all-20261125T223000' });
    expect(sfn.started.map((s) => s.input)).toEqual([
      { mode: 'full', manual: true },
      { mode: 'full', cluster_id: one.cluster_id, manual: true },
      { mode: 'quick', manual: true },
    ]);
  });

  it('releases the claim when StartExecution fails, so the next trigger starts one', async () => {
    const cluster = newCluster();
    const sfn = fakeStarter();
    const broken: ExecutionStarter = {
      start: () => Promise.reject(new StartExecutionError('cannot start the full sync: ServiceUnavailable')),
      isRunning: sfn.starter.isRunning,
    };
    await expect(service(broken).trigger({ mode: 'full', cluster_id: cluster })).rejects.toBeInstanceOf(
      StartExecutionError,
    );
    expect(await store.get('full', cluster)).toBeNull();
    expect(await service(sfn.starter).trigger({ mode: 'full', cluster_id: cluster })).toMatchObject({
      started: true,
    });
  });
});

describe('the trigger function', () => {
  it('answers 202 to an admin, twice with the same execution; 403 to anyone else', async () => {
    const sfn = fakeStarter();
    const triggers = service(sfn.starter);
    const handler = createTriggerHandler(() => triggers);
    const cluster = newCluster();
    const body = JSON.stringify({ mode: 'full', cluster_id: cluster });

    const first = (await handler(
      httpEvent('[admins]', body),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    const second = (await handler(
      httpEvent('[admins]', body),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    const [a, b] = [first, second].map((r) => TriggerSyncResponseSchema.parse(JSON.parse(String(r.body))));
    expect(a?.started).toBe(true);
    expect(b).toMatchObject({ execution_name: a?.execution_name, started: false });
    expect(b?.clusters).toEqual([
      { cluster_id: cluster, outcome: 'coalesced', reason: 'joined the sync a recent trigger started' },
    ]);

    const refused = (await handler(
      httpEvent('[teachers]', body),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(refused.statusCode).toBe(403);
    expect(sfn.started).toHaveLength(1);
  });

  it('defaults an empty body to a full sync of every cluster', async () => {
    const sfn = fakeStarter();
    const handler = createTriggerHandler(() =>
      service(sfn.starter, { now: () => Date.parse('2026-11-25T23:00:00Z') }),
    );
    const response = (await handler(
      httpEvent('[admins]', ''),
      context(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(String(response.body))).toMatchObject({ mode: 'full', cluster_id: null });
  });

  it('accepts an operator’s direct invocation with a plain payload', async () => {
    const sfn = fakeStarter();
    const handler = createTriggerHandler(() => service(sfn.starter));
    const cluster = newCluster();
    const result = await handler({ mode: 'quick', cluster_id: cluster }, context());
    expect(TriggerSyncResponseSchema.parse(result)).toMatchObject({
      mode: 'quick',
      cluster_id: cluster,
      started: true,
    });
    await expect(handler({ mode: 'sometimes' }, context())).rejects.toBeInstanceOf(
      InvalidTriggerPayloadError,
    );
    expect(sfn.started).toHaveLength(1);
  });
});

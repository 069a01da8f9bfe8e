import { fileURLToPath } from 'node:url';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { RunClassSchedulesOutput } from '#functions/schedule/run-class-schedules.ts';
import { ROUTE_TABLE_ACCESS } from '#infra/constructs/api-handlers.ts';
import { CLASS_SCHEDULES_TABLE_ACCESS } from '#infra/constructs/class-schedules.ts';
import { LIVE_TABLE_ACCESS } from '#infra/constructs/live-updates.ts';
import { resolveTableGrant, type TableAccess } from '#infra/constructs/pve-function.ts';
import { RECORD_RUN_TABLE_ACCESS, SYNC_CLUSTER_TABLE_ACCESS } from '#infra/constructs/sync-functions.ts';
import type { LocalIssuer } from '#local/auth/issuer.ts';
import { localClientConfig } from '#local/dynamodb-local.ts';
import {
  createLiveSocketServer,
  type LiveAuthorizerHandler,
  type LiveSocketHandler,
  type LiveSocketServer,
} from '#local/gateway/live-socket.ts';
import {
  createLambdaContext,
  type GatewayLambdaHandler,
  type LocalGateway,
  startLocalGateway,
} from '#local/gateway/server.ts';
import { type StreamHandler, type StreamPoller, startStreamPoller } from '#local/live/stream-poller.ts';
import { getDocumentClient, getPacedDocumentClient } from '#shared/clients/dynamodb.ts';
import { notFoundRoute, type RouteId, routeList } from '#shared/http/routes.ts';
import { bindLocalSyncInvoker } from '#shared/refresh/wiring.ts';
import { DynamoDbLiveStore } from '#shared/store/dynamodb/live-repository.ts';
import {
  AUDIT_TABLE,
  INVENTORY_TABLE,
  LIVE_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
} from '#shared/store/table-design.ts';
import type { SyncClusterInput, SyncSummary } from '#shared/sync/contract.ts';
import type { ExecutionStarter } from '#shared/trigger/execution-starter.ts';
import { bindLocalExecutionStarter } from '#shared/trigger/wiring.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { createTestTables, dynamoDbEndpoint, type TestTables } from '../../helpers/dynamodb.ts';
import { createActionRecorder } from '../../helpers/dynamodb-actions.ts';
import { connectLive, type LiveTestClient } from '../../helpers/live-client.ts';
import { createTestIssuer, TEST_AUDIENCE, testUserTokens } from '../../helpers/tokens.ts';
import { simClusters } from '../actions/sim-fixtures.ts';

/**
 * The IAM grants of every function against what its code really calls. Every route's handler
 * module (as deployed: wired from the environment) and the three sync task handlers run against
 * DynamoDB Local and the simulator through a scenario that takes each of their paths; a client
 * middleware records each DynamoDB action per function, table and index. A call the grants do not
 * allow would be an AccessDenied in AWS; a grant no call uses is more than the function needs.
 * The live functions run the same way: the authorizer and the socket function behind the local
 * gateway's WebSocket, the notify function fed by DynamoDB Local's streams through the whole
 * scenario, and the sweep.
 */

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type TableKey = 'inventory' | 'syncState' | 'ownership' | 'audit' | 'live';
type Grants = Readonly<Partial<Record<TableKey, TableAccess>>>;

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const recorder = createActionRecorder();
let notFoundInvocations = 0;

let sim: Simulator;
let tables: TestTables;
let issuer: LocalIssuer;
let gateway: LocalGateway;
let tokens: Awaited<ReturnType<typeof testUserTokens>>;
let clusterId: string;
let unbind: (() => void)[] = [];
let failNextStart = false;
let liveServer: LiveSocketServer;
let poller: StreamPoller | undefined;
let streams: DynamoDBStreamsClient | undefined;
let sweep: Handler;
const liveClients: LiveTestClient[] = [];

async function loadHandler(entry: string): Promise<Handler> {
  const module: { handler: Handler } = await import(`${projectRoot}${entry}`);
  return module.handler;
}

const context = (name: string): Context =>
  createLambdaContext(name, `${name}-${Date.now()}`, Date.now() + 60_000);

let classSchedules: () => Promise<RunClassSchedulesOutput>;
let syncHandlers: { listClusters: Handler; syncCluster: Handler; recordRun: Handler };

/** Runs one sync task handler as its own function. */
function task<T>(name: keyof typeof syncHandlers, event: unknown): Promise<T> {
  return recorder.run(name, () => syncHandlers[name](event, context(name))) as Promise<T>;
}

async function api(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

/** The recorded calls of one function as `table action` with logical table names. */
function recordedOf(label: string): string[] {
  const logical = new Map<string, TableKey>([
    [tables.names.inventory, 'inventory'],
    [tables.names.syncState, 'syncState'],
    [tables.names.ownership, 'ownership'],
    [tables.names.audit, 'audit'],
    [tables.names.live, 'live'],
  ]);
  return [...(recorder.calls().get(label) ?? [])]
    .map((entry) => {
      const [resource = '', action = ''] = entry.split(' ');
      const [table = '', ...index] = resource.split('/');
      return `${[logical.get(table) ?? table, ...index].join('/')} ${action}`;
    })
    .sort();
}

/** What the grants allow, in the same form. */
function grantedOf(grants: Grants): string[] {
  const designs = {
    inventory: INVENTORY_TABLE,
    syncState: SYNC_STATE_TABLE,
    ownership: OWNERSHIP_TABLE,
    audit: AUDIT_TABLE,
    live: LIVE_TABLE,
  };
  return Object.entries(grants)
    .flatMap(([table, access]) => {
      const grant = resolveTableGrant(access, designs[table as TableKey]);
      return [
        ...grant.actions.map((action) => `${table} ${action}`),
        ...grant.queriedIndexes.map((index) => `${table}/index/${index} Query`),
      ];
    })
    .sort();
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 2,
    guestsPerCluster: 12,
    seed: 17,
    taskDelayMs: 50,
    probeListeners: false,
    drift: false,
  });
  await sim.settled();
  clusterId = sim.clusters[0]?.id ?? '';
  tables = await createTestTables('grants');
  const { clusters, env } = simClusters(sim);
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
    INVENTORY_TABLE: tables.names.inventory,
    SYNC_STATE_TABLE: tables.names.syncState,
    OWNERSHIP_TABLE: tables.names.ownership,
    AUDIT_TABLE: tables.names.audit,
    CLUSTERS_CONFIG: JSON.stringify(clusters),
    CONFIGURED_CLUSTER_IDS: clusterId,
    ACTION_WAIT_SECONDS: '5',
    // the class VM was just started by its teacher: no grace, so the schedule acts on it
    SCHEDULE_USER_GRACE_MINUTES: '0',
    ...env,
  });
  recorder.attach(getDocumentClient());
  // The sync functions write through the paced client (the same calls, with write pacing).
  recorder.attach(getPacedDocumentClient());

  const evaluate = await loadHandler('functions/schedule/run-class-schedules.ts');
  classSchedules = () =>
    recorder.run('classSchedules', () =>
      evaluate({}, context('classSchedules')),
    ) as Promise<RunClassSchedulesOutput>;
  syncHandlers = {
    listClusters: await loadHandler('functions/sync/list-clusters.ts'),
    syncCluster: await loadHandler('functions/sync/sync-cluster.ts'),
    recordRun: await loadHandler('functions/sync/record-run.ts'),
  };
  // The refresh invokes the sync-cluster function (another function, with its own grants).
  unbind.push(
    bindLocalSyncInvoker({
      syncCluster: (input: SyncClusterInput) => task<SyncSummary>('syncCluster', input),
    }),
  );
  const starter: ExecutionStarter = {
    async start(mode, name) {
      if (failNextStart) {
        failNextStart = false;
        throw new Error('start refused (test)');
      }
      return {
        executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${mode}:${name}`,
        started: true,
      };
    },
    isRunning: async () => true,
  };
  unbind.push(bindLocalExecutionStarter(starter));

  const handlers: Record<string, GatewayLambdaHandler> = {};
  for (const route of routeList) {
    const handler = await loadHandler(route.handler);
    handlers[route.id] = (event: never, ctx: Context) => recorder.run(route.id, () => handler(event, ctx));
  }
  // The catch-all of unknown routes ($default), invoked by the gateway as API Gateway invokes it.
  const notFound = await loadHandler(notFoundRoute.handler);
  handlers[notFoundRoute.id] = (event: never, ctx: Context) => {
    notFoundInvocations += 1;
    return recorder.run(notFoundRoute.id, () => notFound(event, ctx));
  };
  issuer = await createTestIssuer();
  tokens = await testUserTokens(issuer);
  // The live functions, each under its own label, loaded once the environment below is set.
  liveServer = createLiveSocketServer({
    handlers: async () => {
      const authorize = (await loadHandler(
        'functions/live/authorize.ts',
      )) as unknown as LiveAuthorizerHandler;
      const socket = (await loadHandler('functions/live/socket.ts')) as unknown as LiveSocketHandler;
      return {
        authorize: (event) => recorder.run('liveAuthorize', () => authorize(event)),
        socket: (event) => recorder.run('liveSocket', () => socket(event)),
      };
    },
  });
  // The issuer's keys, where the authorizer fetches them (as from Cognito's JWKS URL).
  const jwksSite = async (request: { path: string }) =>
    request.path === '/jwks.json'
      ? {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify(issuer.jwks())),
        }
      : null;
  gateway = await startLocalGateway({
    port: 0,
    routes: routeList,
    issuer,
    audience: TEST_AUDIENCE,
    handlers,
    sites: [jwksSite],
    live: liveServer,
  });
  Object.assign(process.env, {
    LIVE_TABLE: tables.names.live,
    LIVE_CALLBACK_URL: gateway.url,
    LIVE_JWT_ISSUER: issuer.issuerUrl,
    LIVE_JWT_AUDIENCE: TEST_AUDIENCE,
    LIVE_JWKS_URL: `${gateway.url}/jwks.json`,
  });
  const notify = (await loadHandler('functions/live/notify.ts')) as unknown as StreamHandler;
  sweep = await loadHandler('functions/live/sweep.ts');
  streams = new DynamoDBStreamsClient(localClientConfig(dynamoDbEndpoint()));
  poller = await startStreamPoller({
    dynamodb: tables.client,
    streams,
    tables: [tables.names.inventory, tables.names.syncState, tables.names.ownership],
    handler: (event) => recorder.run('liveNotify', () => notify(event)),
    batchWindowMs: 200,
  });

  await runScenario();
}, 180_000);

afterAll(async () => {
  for (const fn of unbind) fn();
  unbind = [];
  for (const client of liveClients) await client.close().catch(() => {});
  await poller?.stop();
  streams?.destroy();
  await gateway?.close();
  await sim?.stop();
  await tables?.drop();
});

/** Every function's paths: first load, ownership set-up, reads, refresh, action, trigger, removals, churn. */
async function runScenario(): Promise<void> {
  const expectStatus = (result: { status: number; json: unknown }, status: number, what: string) =>
    expect(result.status, `${what}: ${JSON.stringify(result.json)}`).toBe(status);

  await task('listClusters', { mode: 'full' });
  const first = await task<SyncSummary>('syncCluster', { cluster_id: clusterId, mode: 'full' });
  expect(first.ok).toBe(true);
  await task('recordRun', { mode: 'full', results: [first] });

  // Live connections for every role, and a connection item whose socket is gone ($disconnect is
  // best effort): the fan-out posts to it, gets 410 and deletes it.
  const liveUrl = `${gateway.url.replace(/^http/, 'ws')}${liveServer.path}`;
  const store = new DynamoDbLiveStore(tables.documentClient, tables.names.live);
  const now = Date.now();
  await store.putConnection({
    connection_id: 'gone-connection',
    username: 'admin',
    admin: true,
    teacher: false,
    token_expires_at: now + 3_600_000,
    connected_at: now,
  });
  const helloed = async (token: string, hello: unknown = { action: 'hello' }) => {
    const client = await connectLive(liveUrl, token);
    liveClients.push(client);
    client.send(hello);
    await client.waitFor((message) => message.type === 'hello');
    return client;
  };
  for (const token of [tokens.studentA, tokens.studentB, tokens.teacher, tokens.admin]) await helloed(token);

  const guests = sim.groundTruth(clusterId).filter((guest) => !guest.template);
  const [own, classVm, imported, removed] = guests.map((guest) => guest.vmid);
  if (own === undefined || classVm === undefined || imported === undefined || removed === undefined)
    throw new Error('the simulated cluster has too few guests');
  const { admin, teacher, studentA, studentB } = tokens;

  // Ownership set-up (admin), then the teacher's and students' views.
  const created = await api('POST', '/api/classes', admin, { name: 'Grants', teachers: ['carol'] });
  expectStatus(created, 201, 'create class');
  const classId = String((created.json as { class_id: string }).class_id);
  expectStatus(await api('PUT', `/api/classes/${classId}/members/alice`, admin, {}), 200, 'add member');
  expectStatus(await api('PUT', `/api/classes/${classId}/members/bob`, admin, {}), 200, 'add member');
  expectStatus(
    await api('PUT', `/api/classes/${classId}/vms/${clusterId}/${classVm}`, admin, { student: 'alice' }),
    200,
    'link VM',
  );
  expectStatus(
    await api('PUT', `/api/classes/${classId}/vms/${clusterId}/${classVm}`, admin, { student: 'bob' }),
    200,
    'relink VM to another student',
  );
  expectStatus(
    await api('PUT', '/api/assignments', admin, { username: 'alice', cluster_id: clusterId, vmid: own }),
    200,
    'assign',
  );
  expectStatus(
    await api('PUT', '/api/assignments', admin, { username: 'bob', cluster_id: clusterId, vmid: removed }),
    200,
    'assign the guest that will disappear',
  );
  expectStatus(
    await api('POST', `/api/assignments/import?dry_run=true`, admin, { erin: [`${clusterId}:${imported}`] }),
    200,
    'import dry run',
  );
  expectStatus(
    await api('POST', '/api/assignments/import', admin, { erin: [`${clusterId}:${imported}`] }),
    200,
    'import',
  );
  expectStatus(await api('PUT', `/api/classes/${classId}`, admin, { name: 'Grants 2' }), 200, 'rename class');

  // Users before the admin: a user's list on a cold read cache reads their VMs by key.
  for (const token of [studentA, studentB, teacher, admin]) {
    expectStatus(await api('GET', '/api/vms', token), 200, 'list');
    expectStatus(await api('GET', '/api/sync/stats', token), 200, 'stats');
    expectStatus(await api('GET', '/api/classes', token), 200, 'classes');
  }
  expectStatus(await api('GET', `/api/vms/${clusterId}/${own}`, studentA), 200, 'get own VM');
  expectStatus(
    await api('GET', `/api/vms/${clusterId}/${own}/history?range=24h`, studentA),
    200,
    'VM history',
  );
  expectStatus(
    await api('GET', `/api/vms/${clusterId}/${classVm}/history?range=14d`, teacher),
    200,
    'class VM history',
  );
  expectStatus(await api('GET', `/api/vm/${own}/status?cluster=${clusterId}`, studentA), 200, 'VM status');
  expectStatus(await api('GET', `/api/vm/${own}/ip`, studentA), 200, 'VM address (cluster resolved)');
  expectStatus(await api('GET', `/api/vm/${classVm}/status`, admin), 200, 'VM status (admin)');
  expectStatus(await api('GET', `/api/vms/${clusterId}/${classVm}`, teacher), 200, 'teacher gets class VM');
  expectStatus(await api('GET', `/api/classes/${classId}`, teacher), 200, 'get class');
  expectStatus(await api('GET', '/api/sync/health', undefined), 200, 'health');
  expectStatus(await api('GET', '/api/assignments', admin), 200, 'all assignments');
  expectStatus(await api('GET', '/api/assignments?username=alice', admin), 200, 'assignments of a user');
  expectStatus(
    await api('GET', `/api/assignments?cluster=${clusterId}&vmid=${own}`, admin),
    200,
    'owners of a VM',
  );
  expectStatus(await api('GET', '/api/openapi.json', undefined), 200, 'openapi');

  // A teacher acts through the class: the class VM is visible to them, they may relink it.
  expectStatus(
    await api('PUT', `/api/classes/${classId}/vms/${clusterId}/${classVm}`, teacher, { student: 'alice' }),
    200,
    'teacher relinks a class VM',
  );

  // The refresh: one that runs, one coalesced with it (rate limited), both through sync-cluster.
  expectStatus(await api('GET', '/api/vms?force_refresh=true', admin), 200, 'refresh');
  expectStatus(await api('GET', '/api/vms?force_refresh=true', admin), 200, 'refresh again');

  // A power action on the student's VM (the pending state is recorded, then confirmed).
  for (const [vmid, token] of [
    [own, studentA],
    [classVm, teacher],
  ] as const) {
    const power = sim.guest(clusterId, vmid)?.status === 'running' ? 'stop' : 'start';
    const action = await api('POST', `/api/vm/${vmid}/${power}?cluster=${clusterId}`, token);
    expect([200, 202], JSON.stringify(action.json)).toContain(action.status);
  }

  // The class schedule: the teacher sets, reads, removes and sets it again; the scheduled function
  // shuts the running class VM down (every minute, idle rule on: it reads the history first);
  // a student keeps their VM running.
  if (sim.guest(clusterId, classVm)?.status !== 'running') {
    const started = await api('POST', `/api/vm/${classVm}/start?cluster=${clusterId}`, teacher);
    expect([200, 202], JSON.stringify(started.json)).toContain(started.status);
  }
  const schedule = { timezone: 'Europe/Berlin', shutdown_cron: '* * * * *', idle: { enabled: true } };
  const schedulePath = `/api/classes/${classId}/schedule`;
  expectStatus(await api('PUT', schedulePath, teacher, schedule), 200, 'set schedule');
  expectStatus(await api('GET', schedulePath, teacher), 200, 'get schedule');
  expectStatus(await api('DELETE', schedulePath, teacher), 204, 'remove schedule');
  expectStatus(await api('PUT', schedulePath, teacher, schedule), 200, 'set schedule again');
  const evaluated = await classSchedules();
  expect(evaluated.classes).toEqual([expect.objectContaining({ evaluated: true, shut_down: 1 })]);
  expectStatus(await api('POST', `/api/vms/${clusterId}/${own}/keep-running`, studentA), 200, 'keep running');

  // A bulk action on the class by its teacher whose tasks outlast the wait (so a line stays
  // pending), then its status route, which reads the pending VMs back.
  sim.faults.setHang(clusterId, 'task', true);
  const power = sim.guest(clusterId, classVm)?.status === 'running' ? 'stop' : 'start';
  const bulk = await api('POST', '/api/bulk-actions', teacher, { action: power, class_id: classId });
  sim.faults.setHang(clusterId, 'task', false);
  expectStatus(bulk, 200, 'bulk action');
  const bulkId = String((bulk.json as { bulk_id: string }).bulk_id);
  expect(JSON.stringify(bulk.json)).toContain('"pending"');
  expectStatus(await api('GET', `/api/bulk-actions/${bulkId}`, teacher), 200, 'bulk status');

  // The trigger: a refused start (its claim is released), then a start, then a coalesced one.
  failNextStart = true;
  expect((await api('POST', '/api/sync/trigger', admin, { mode: 'full' })).status).toBeGreaterThanOrEqual(
    500,
  );
  expectStatus(await api('POST', '/api/sync/trigger', admin, { mode: 'full' }), 202, 'trigger');
  expectStatus(await api('POST', '/api/sync/trigger', admin, { mode: 'full' }), 202, 'coalesced trigger');

  // Churn on the cluster: a guest removed (its assignment suspended), one created, one changed.
  // (created first: the simulator reuses the lowest free VMID)
  sim.createGuest(clusterId, { name: 'grants-new' });
  sim.destroyGuest(clusterId, removed);
  sim.setGuestStatus(clusterId, imported, 'stopped');
  await sim.settled();
  const quick = await task<SyncSummary>('syncCluster', { cluster_id: clusterId, mode: 'quick' });
  await task('recordRun', { mode: 'quick', results: [quick] });
  const second = await task<SyncSummary>('syncCluster', { cluster_id: clusterId, mode: 'full' });
  expect(second.ok).toBe(true);

  // Live while the class exists: a teacher resumes (replayed from the log, through the classes they
  // teach), re-authenticates and pings.
  await poller?.drain();
  expect(await store.getConnection('gone-connection')).toBeNull();
  const resumed = await helloed(teacher, { action: 'hello', versions: { [clusterId]: 1 } });
  resumed.send({ action: 'reauth', token: await issuer.issueToken('carol', { groups: ['teachers'] }) });
  await resumed.waitFor((message) => message.type === 'reauth');
  resumed.send({ action: 'ping' });
  await resumed.waitFor((message) => message.type === 'pong');

  // Removals.
  expectStatus(
    await api('DELETE', `/api/assignments?username=alice&cluster=${clusterId}&vmid=${own}`, admin),
    204,
    'unassign',
  );
  expectStatus(
    await api('DELETE', `/api/classes/${classId}/vms/${clusterId}/${classVm}`, admin),
    204,
    'unlink',
  );
  expectStatus(await api('DELETE', `/api/classes/${classId}/members/alice`, admin), 204, 'remove member');
  expectStatus(await api('DELETE', `/api/classes/${classId}`, admin), 204, 'delete class');
  // the next evaluation removes the deleted class's schedule
  expect((await classSchedules()).classes).toEqual([
    expect.objectContaining({ evaluated: true, shut_down: 0 }),
  ]);
  expectStatus(await api('GET', '/api/audit', admin), 200, 'audit');
  expectStatus(await api('GET', '/api/audit?user=admin', admin), 200, 'audit of a user');
  expectStatus(await api('GET', `/api/audit?cluster=${clusterId}&vmid=${own}`, admin), 200, 'audit of a VM');
  expectStatus(await api('GET', `/api/audit?class=${classId}`, admin), 200, 'audit of a class');
  expectStatus(await api('GET', '/api/no-such-route', admin), 404, 'unknown route');

  // Live: every change has gone through the fan-out; the disconnects; the sweep closes an expired
  // connection.
  await poller?.drain();
  for (const client of liveClients) await client.close();
  await vi.waitFor(async () => expect(await store.listConnections()).toEqual([]), { timeout: 10_000 });
  await store.putConnection({
    connection_id: 'expired-connection',
    username: 'bob',
    admin: false,
    teacher: false,
    token_expires_at: Date.now() - 1000,
    connected_at: Date.now() - 3_600_000,
  });
  expect(await recorder.run('liveSweep', () => sweep({}, context('liveSweep')))).toEqual({ closed: 1 });
  expectStatus(
    await api('PATCH', `/api/vms/${clusterId}/${own}`, undefined),
    404,
    'unknown method, no token',
  );
}

describe('DynamoDB grants against the calls each function makes', () => {
  it.each(routeList.map((route) => route.id as RouteId))(
    'route %s calls exactly the actions it is granted',
    (routeId) => {
      expect(recordedOf(routeId)).toEqual(grantedOf(ROUTE_TABLE_ACCESS[routeId]));
    },
  );

  it('sync-cluster calls exactly the actions it is granted (first load, churn, removal, refresh)', () => {
    expect(recordedOf('syncCluster')).toEqual(grantedOf(SYNC_CLUSTER_TABLE_ACCESS));
  });

  it('the class-schedules function calls exactly the actions it is granted', () => {
    expect(recordedOf('classSchedules')).toEqual(grantedOf(CLASS_SCHEDULES_TABLE_ACCESS));
  });

  it('record-run only puts the run statistics and list-clusters reads no table', () => {
    expect(recordedOf('recordRun')).toEqual(grantedOf(RECORD_RUN_TABLE_ACCESS));
    expect(recordedOf('listClusters')).toEqual([]);
  });

  it('the catch-all of unknown routes ($default) calls no table (it is granted none)', () => {
    expect(notFoundInvocations).toBe(2);
    expect(recordedOf(notFoundRoute.id)).toEqual([]);
  });

  it.each(Object.keys(LIVE_TABLE_ACCESS) as (keyof typeof LIVE_TABLE_ACCESS)[])(
    'live %s calls exactly the actions it is granted',
    (name) => {
      const label = { notify: 'liveNotify', socket: 'liveSocket', sweep: 'liveSweep' }[name];
      expect(recordedOf(label)).toEqual(grantedOf(LIVE_TABLE_ACCESS[name]));
    },
  );

  it('the live authorizer calls no table (it is granted none)', () => {
    expect(recordedOf('liveAuthorize')).toEqual([]);
  });

  it('made no DynamoDB call outside a function', () => {
    expect(recordedOf('(unlabelled)')).toEqual([]);
  });
});

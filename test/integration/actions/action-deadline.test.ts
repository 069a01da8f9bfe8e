import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { ACTION_WAIT_ENV, createVmActionHandler, waitMsFromEnv } from '#functions/api/vm-action.ts';
import { buildHttpApiEvent } from '#local/gateway/event.ts';
import { createLambdaContext, type GatewayLambdaHandler } from '#local/gateway/server.ts';
import { createActionService, MAX_ACTION_WAIT_MS } from '#shared/actions/action-service.ts';
import { createGatewayProvider, type GatewayProvider } from '#shared/actions/gateway-provider.ts';
import { routeKey, routes } from '#shared/http/routes.ts';
import { VmActionDoneResponseSchema, VmActionPendingResponseSchema } from '#shared/http/schemas/actions.ts';
import { ErrorResponseSchema } from '#shared/http/schemas/common.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { type ApiWorld, startApiWorld } from '../api/api-world.ts';
import { pickGuest, simClusters, storedFromTruth } from './sim-fixtures.ts';

/**
 * An action must answer before API Gateway's 30 s integration timeout whatever Proxmox does. Here
 * the simulator is slow in every way an action meets — a power call that never answers, state
 * checks and task polls that take 9 s each, tasks that run for a minute, a client set-up that never
 * finishes (a secret fetch on a cold start) — and the action route runs with the longest wait the
 * setting accepts, through the local gateway, on DynamoDB Local. Every answer arrives well before
 * 29 s, as 200 or 202 when Proxmox was reached (502 when not even the client could be set up).
 */

/** HTTP API integrations end at 30 s; the Lambda is given 29 s. */
const INTEGRATION_LIMIT_MS = 29_000;
/** Slower than any poll interval, faster than the client's own 10 s timeouts: the worst "slow but alive". */
const SLOW_POLL_MS = 9_000;
/** A slow state check that still fits its half of the 10 s call budget. */
const SLOW_CHECK_MS = 3_000;

let sim: Simulator;
let world: ApiWorld;
let provider: GatewayProvider;

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 2,
    nodesPerCluster: 2,
    guestsPerCluster: 30,
    seed: 11,
    // Tasks outlast any wait: the action can only learn the outcome by polling until its deadline.
    taskDelayMs: 60_000,
    probeListeners: false,
    drift: false,
  });
  const { clusters, env } = simClusters(sim);
  provider = createGatewayProvider(
    clusters,
    createProxmoxConnector({ sources: { env }, createClient: createHttpsProxmoxClient }),
  );
  const waitMs = waitMsFromEnv({ [ACTION_WAIT_ENV]: String(MAX_ACTION_WAIT_MS / 1000) });
  let handler: GatewayLambdaHandler | undefined;
  world = await startApiWorld(
    'actions-deadline',
    { vmAction: (event: never, context: Context) => handler?.(event, context) },
    Date.now,
  );
  const { repositories } = world;
  const wired = (gatewayFor: Parameters<typeof createActionService>[0]['gatewayFor']) =>
    createActionService({
      inventory: repositories.inventory,
      ownership: repositories.ownership,
      clusterIds: async () => provider.clusterIds(),
      gatewayFor,
      waitMs,
    });
  const normal = wired((clusterId) => provider.gatewayFor(clusterId));
  // A client set-up that never finishes stands for a token secret fetch that hangs on a cold start.
  const coldStart = wired(() => new Promise(() => undefined));
  handler = createVmActionHandler(async () => normal);
  coldHandler = createVmActionHandler(async () => coldStart);
  for (const cluster of sim.clusters) {
    await repositories.inventory.batchPut(
      sim.groundTruth(cluster.id).map((guest) => storedFromTruth(cluster.id, cluster.name, guest)),
    );
  }
});

let coldHandler: GatewayLambdaHandler;

afterAll(async () => {
  sim?.faults.reset();
  await sim?.stop();
  await provider?.close();
  await world?.close();
});

const plain = (g: { template: boolean; lock?: string; hastate?: string; type: string }) =>
  !g.template && g.lock === undefined && g.hastate === undefined && g.type === 'qemu';

/** POSTs an action as the admin and measures how long the answer took. */
async function timedAction(path: string): Promise<{ status: number; body: unknown; elapsedMs: number }> {
  const started = performance.now();
  const response = await world.request('POST', path, { token: world.tokens.admin });
  const body: unknown = await response.json();
  return { status: response.status, body, elapsedMs: performance.now() - started };
}

describe('an action against a slow Proxmox, with the longest wait the setting accepts', () => {
  it('caps the wait setting well below the integration timeout', () => {
    expect(MAX_ACTION_WAIT_MS).toBeLessThanOrEqual(INTEGRATION_LIMIT_MS / 2);
    expect(() => waitMsFromEnv({ [ACTION_WAIT_ENV]: '25' })).toThrow(RangeError);
  });

  it('answers every request before 29 s: 202 for a hung power call or slow task polls, 200 for a slow state check', async () => {
    const hungPower = pickGuest(sim, 'sim-1', 'stopped plain VM', (g) => plain(g) && g.status === 'stopped');
    const slowTask = pickGuest(sim, 'sim-2', 'stopped plain VM', (g) => plain(g) && g.status === 'stopped');
    const slowCheck = pickGuest(sim, 'sim-2', 'running plain VM', (g) => plain(g) && g.status === 'running');
    const haGuest = pickGuest(
      sim,
      'sim-2',
      'stopped HA VM',
      (g) => g.hastate !== undefined && g.status === 'stopped',
    );
    const hungCheck = pickGuest(sim, 'sim-1', 'running plain VM', (g) => plain(g) && g.status === 'running');
    sim.faults.setHang('sim-1', 'power', true);
    sim.faults.setLatency('sim-1', 'status', SLOW_POLL_MS);
    sim.faults.setLatency('sim-2', 'task', SLOW_POLL_MS);
    sim.faults.setLatency('sim-2', 'status', SLOW_CHECK_MS);
    await sim.settled();

    const [power, task, check, ha, checkThenHang] = await Promise.all([
      timedAction(`/api/vm/${hungPower.vmid}/start?cluster=sim-1`),
      timedAction(`/api/vm/${slowTask.vmid}/start?cluster=sim-2`),
      timedAction(`/api/vm/${slowCheck.vmid}/start?cluster=sim-2`),
      timedAction(`/api/vm/${haGuest.vmid}/start?cluster=sim-2`),
      timedAction(`/api/vm/${hungCheck.vmid}/start?cluster=sim-1`),
    ]);

    // The power call never answered: pending kept, no UPID, the sync confirms or it expires.
    expect(power.status).toBe(202);
    expect(VmActionPendingResponseSchema.parse(power.body)).toMatchObject({ ok: true, upid: null });
    // The task was created, its polls outlasted the wait.
    expect(task.status).toBe(202);
    expect(VmActionPendingResponseSchema.parse(task.body).upid).toMatch(/^UPID:/);
    expect(ha.status).toBe(202);
    // The state check took 3 s, within its half of the call budget: already running, no task.
    expect(check.status).toBe(200);
    expect(VmActionDoneResponseSchema.parse(check.body)).toMatchObject({ ok: true, unchanged: true });

    // The state check outlasted its half of the call budget, then the power call hung: pending, no UPID.
    expect(checkThenHang.status).toBe(202);
    expect(VmActionPendingResponseSchema.parse(checkThenHang.body)).toMatchObject({ ok: true, upid: null });

    for (const answer of [power, task, check, ha, checkThenHang]) {
      expect(answer.elapsedMs).toBeLessThan(INTEGRATION_LIMIT_MS);
    }
  });

  it('answers before 29 s when the Proxmox client cannot even be set up (502, nothing recorded)', async () => {
    // A container: none of the other test's guests (all QEMU VMs) is touched.
    const guest = pickGuest(
      sim,
      'sim-1',
      'running plain container',
      (g) => g.type === 'lxc' && !g.template && g.lock === undefined && g.status === 'running',
    );
    const started = performance.now();
    const event = buildHttpApiEvent({
      method: 'POST',
      rawPath: `/api/vm/${guest.vmid}/stop`,
      rawQueryString: 'cluster=sim-1',
      headers: {},
      body: '',
      routeKey: routeKey(routes.vmAction),
      pathParameters: { vmid: String(guest.vmid), action: 'stop' },
      jwt: { claims: { 'cognito:username': 'dave', 'cognito:groups': '[admins]' }, scopes: null },
    });
    const result = (await coldHandler(
      event as never,
      createLambdaContext('vm-action', 'cold', Date.now() + INTEGRATION_LIMIT_MS),
    )) as APIGatewayProxyStructuredResultV2;
    const elapsedMs = performance.now() - started;
    expect(result.statusCode).toBe(502);
    expect(ErrorResponseSchema.parse(JSON.parse(result.body ?? '')).error.code).toBe('proxmox_unavailable');
    expect(elapsedMs).toBeLessThan(INTEGRATION_LIMIT_MS);
    const item = await world.repositories.inventory.getVm(
      { cluster_id: 'sim-1', vmid: guest.vmid },
      { consistentRead: true },
    );
    expect(item?.pending_action).toBeUndefined();
  });
});

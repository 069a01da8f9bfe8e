import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createTriggerHandler } from '#functions/api/sync-trigger.ts';
import { createVmActionHandler } from '#functions/api/vm-action.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { createActionService } from '#shared/actions/action-service.ts';
import { createGatewayProvider } from '#shared/actions/gateway-provider.ts';
import { type ClustersFile, parseClustersFile } from '#shared/config/clusters.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createProxmoxConnector, type ProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { createSyncService, type EngineSyncService } from '#shared/sync/service.ts';
import type { ExecutionStarter } from '#shared/trigger/execution-starter.ts';
import { createTriggerService } from '#shared/trigger/trigger-service.ts';
import { DynamoDbTriggerStore } from '#shared/trigger/trigger-store.ts';
import { type GroundTruthGuest, type Simulator, startSimulator } from '#simulator/index.ts';
import { type ApiWorld, startApiWorld } from '../api/api-world.ts';

/**
 * The contract of the original Flask portal's pages, checked against this API: the fields and
 * status codes the pages read for each call they make (list, actions, status, ip, trigger), with
 * the types they rely on. Proxmox is the simulator, the inventory is filled by a real full sync
 * into DynamoDB Local, and every call goes over HTTP through the local gateway with a bearer token
 * (what a same-origin proxy adds in front of the pages). The one contract is written down once
 * (`CONTRACT`) and every test reads it; README "Using it with the existing portal" lists it too.
 */

/** The pages' success check: `resp.ok && data.ok`. */
const PagesOk = z.object({ ok: z.literal(true) });

/** One call of the original pages: what it sends, which statuses it handles, which fields it reads. */
interface ContractCall {
  readonly method: 'GET' | 'POST';
  /** the path the pages use (`{vmid}` filled in by each test) */
  readonly path: string;
  /** statuses the pages treat as success */
  readonly success: readonly number[];
  /** the fields the pages read from a success body, with the types they rely on */
  readonly reads: z.ZodType;
}

const VmFieldsThePagesRead = z.object({
  vmid: z.number().int(),
  name: z.string(),
  status: z.string(),
  node: z.string(),
  type: z.enum(['qemu', 'lxc']),
  ip: z.string().nullable(),
  cores: z.number().int(),
  memory: z.number().int(),
  uptime: z.number().int(),
  cpu_usage: z.number(),
  memory_usage: z.number(),
  tags: z.string(),
  category: z.enum(['windows', 'linux', 'other']),
  rdp_available: z.boolean(),
  ssh_available: z.boolean(),
  is_template: z.boolean(),
  last_updated: z.string().nullable(),
});

const CONTRACT = {
  list: {
    method: 'GET',
    path: '/api/vms',
    success: [200],
    reads: z.object({ vms: z.array(VmFieldsThePagesRead), is_admin: z.boolean() }),
  },
  action: {
    method: 'POST',
    path: '/api/vm/{vmid}/{action}',
    success: [200, 202],
    reads: PagesOk.extend({ vmid: z.number().int() }),
  },
  status: {
    method: 'GET',
    path: '/api/vm/{vmid}/status',
    success: [200],
    reads: PagesOk.extend(VmFieldsThePagesRead.shape),
  },
  ip: {
    method: 'GET',
    path: '/api/vm/{vmid}/ip',
    success: [200],
    reads: PagesOk.extend({ vmid: z.number().int(), ip: z.string().nullable(), status: z.string() }),
  },
  trigger: { method: 'POST', path: '/api/sync/trigger', success: [202], reads: PagesOk },
} as const satisfies Record<string, ContractCall>;

/** The one error shape every failure has (no `ok`: the pages' `data.ok` is falsy). */
const ErrorShape = z.strictObject({
  error: z.object({ code: z.string(), message: z.string(), details: z.array(z.unknown()).optional() }),
});

let sim: Simulator;
let world: ApiWorld;
let connector: ProxmoxConnector;
let sync: EngineSyncService;
let clusters: ClustersFile;
/** alice's VM on sim-1: a stopped plain QEMU guest whose VMID exists on sim-2 too. */
let aliceVm: GroundTruthGuest;

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 2,
    nodesPerCluster: 2,
    guestsPerCluster: 30,
    seed: 18,
    taskDelayMs: 200,
    probeListeners: false,
    drift: false,
  });
  await sim.settled();
  clusters = parseClustersFile(sim.clusterConfig(), 'simulator');
  connector = createProxmoxConnector({
    sources: { env: { PVE_SIM_TOKEN: sim.clusters[0]?.tokenSecret ?? '' } },
    clientDeps: { connectTimeoutMs: 2_000, retry: { retries: 0 } },
    createClient: createHttpsProxmoxClient,
  });
  let handlers: Record<string, GatewayLambdaHandler> = {};
  world = await startApiWorld(
    'compat-contract',
    {
      vmAction: (event: never, context: Context) => handlers.vmAction?.(event, context),
      triggerSync: (event: never, context: Context) => handlers.triggerSync?.(event, context),
    },
    Date.now,
  );
  const { repositories } = world;
  sync = createSyncService({
    clusters,
    repositories,
    connect: (cluster) => connector.connect(cluster),
    invalidate: (id) => connector.invalidate(id),
    probeTimeoutMs: 300,
  });
  for (const cluster of clusters.clusters) {
    await sync.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' });
  }
  const provider = createGatewayProvider(clusters, connector);
  const actions = createActionService({
    inventory: repositories.inventory,
    ownership: repositories.ownership,
    clusterIds: async () => provider.clusterIds(),
    gatewayFor: (clusterId) => provider.gatewayFor(clusterId),
  });
  // Step Functions stand-in: a triggered sync runs the real sync service on every cluster.
  const starter: ExecutionStarter = {
    async start(mode, name) {
      await Promise.all(clusters.clusters.map((c) => sync.syncClusterDetailed({ cluster_id: c.id, mode })));
      return {
        executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${mode}:${name}`,
        started: true,
      };
    },
    isRunning: async () => false,
  };
  const triggers = createTriggerService({
    store: new DynamoDbTriggerStore(world.tables.documentClient, world.tables.names.syncState),
    starter,
  });
  handlers = {
    vmAction: createVmActionHandler(async () => actions),
    triggerSync: createTriggerHandler(() => triggers) as GatewayLambdaHandler,
  };

  const found = sim
    .groundTruth('sim-1')
    .find(
      (g) =>
        g.type === 'qemu' &&
        !g.template &&
        g.lock === undefined &&
        g.hastate === undefined &&
        g.status === 'stopped' &&
        sim.guest('sim-2', g.vmid) !== undefined,
    );
  if (found === undefined) throw new Error('simulated sim-1 has no stopped plain VM whose VMID is on sim-2');
  aliceVm = found;
  await repositories.ownership.putAssignment({
    username: 'alice',
    cluster_id: 'sim-1',
    vmid: aliceVm.vmid,
    source: 'admin',
    created_at: Date.now(),
  });
});

afterAll(async () => {
  await connector?.close();
  await sim?.stop();
  await world?.close();
});

const path = (call: ContractCall, vmid: number, action = '') =>
  call.path.replace('{vmid}', String(vmid)).replace('{action}', action);

/** Calls the API as the pages would and checks the contract of a success answer. */
async function pagesCall(
  call: ContractCall,
  token: string,
  options: { vmid?: number; action?: string; query?: string } = {},
) {
  const target = `${path(call, options.vmid ?? 0, options.action)}${options.query ?? ''}`;
  const response = await world.request(call.method, target, {
    token,
    ...(call.method === 'POST' && call.path === CONTRACT.trigger.path ? { body: {} } : {}),
  });
  const body: unknown = await response.json();
  expect(call.success, `${call.method} ${target}: ${JSON.stringify(body)}`).toContain(response.status);
  // The pages' own success test, then every field they read, with its type.
  expect(response.ok && pagesSucceed(call, body)).toBe(true);
  return { status: response.status, body: call.reads.parse(body) as Record<string, unknown>, raw: body };
}

/** The list has no `ok` in the original either: the pages read `vms` from any 200. */
function pagesSucceed(call: ContractCall, body: unknown): boolean {
  return call === CONTRACT.list || PagesOk.safeParse(body).success;
}

describe("the original portal's pages against this API", () => {
  it('list: 200 with the VM fields the pages read and is_admin (false for a user, true for an admin)', async () => {
    const mine = await pagesCall(CONTRACT.list, world.tokens.studentA);
    expect(mine.body.is_admin).toBe(false);
    expect((mine.body.vms as { vmid: number }[]).map((vm) => vm.vmid)).toEqual([aliceVm.vmid]);

    const all = await pagesCall(CONTRACT.list, world.tokens.admin);
    expect(all.body.is_admin).toBe(true);
    const total = sim.clusters.reduce((n, c) => n + sim.groundTruth(c.id).length, 0);
    expect((all.body.vms as unknown[]).length).toBe(total);
  });

  it('start, then poll status: ok at every step, the status the pages wait for, and ip', async () => {
    const started = await pagesCall(CONTRACT.action, world.tokens.studentA, {
      vmid: aliceVm.vmid,
      action: 'start',
    });
    expect(started.body.vmid).toBe(aliceVm.vmid);
    // The short default wait answers 200 (confirmed) or 202 (pending): both are ok: true.
    const deadline = Date.now() + 15_000;
    let status = '';
    while (status !== 'running' && Date.now() < deadline) {
      if (started.status === 202) await sync.syncClusterDetailed({ cluster_id: 'sim-1', mode: 'quick' });
      const polled = await pagesCall(CONTRACT.status, world.tokens.studentA, { vmid: aliceVm.vmid });
      status = String(polled.body.status);
    }
    expect(status).toBe('running');
    expect(sim.guest('sim-1', aliceVm.vmid)?.status).toBe('running');

    const ip = await pagesCall(CONTRACT.ip, world.tokens.studentA, { vmid: aliceVm.vmid });
    expect(ip.body).toMatchObject({ vmid: aliceVm.vmid, status: 'running' });
  });

  it('starting a running VM again, or stopping a stopped one, is 200 ok: true with no second task', async () => {
    const vm = sim
      .groundTruth('sim-2')
      .find(
        (g) =>
          g.type === 'qemu' &&
          !g.template &&
          g.lock === undefined &&
          g.hastate === undefined &&
          g.status === 'stopped',
      );
    if (vm === undefined) throw new Error('no stopped plain VM on sim-2');
    const before = sim.counters('sim-2').power;
    const stopped = await pagesCall(CONTRACT.action, world.tokens.admin, {
      vmid: vm.vmid,
      action: 'stop',
      query: '?cluster=sim-2',
    });
    expect(stopped.status).toBe(200);
    expect(stopped.raw).toMatchObject({ ok: true, status: 'stopped', unchanged: true, upid: null });
    const shutdown = await pagesCall(CONTRACT.action, world.tokens.admin, {
      vmid: vm.vmid,
      action: 'shutdown',
      query: '?cluster=sim-2',
    });
    expect(shutdown.status).toBe(200);
    expect(sim.counters('sim-2').power).toBe(before);
  });

  it('trigger: 202 ok: true for an admin', async () => {
    const triggered = await pagesCall(CONTRACT.trigger, world.tokens.admin);
    expect(triggered.raw).toMatchObject({ ok: true, mode: 'full', started: true });
  });

  describe('failures have the one error shape, never ok: true', () => {
    const expectError = async (response: Response, status: number) => {
      expect(response.status).toBe(status);
      const body: unknown = await response.json();
      expect(ErrorShape.parse(body)).toBeDefined();
      expect(PagesOk.safeParse(body).success).toBe(false);
      return body;
    };

    it("404 for another user's VM, on every bare-VMID route (never revealed)", async () => {
      for (const call of [CONTRACT.status, CONTRACT.ip]) {
        await expectError(
          await world.request('GET', path(call, aliceVm.vmid), { token: world.tokens.studentB }),
          404,
        );
      }
      await expectError(
        await world.request('POST', path(CONTRACT.action, aliceVm.vmid, 'stop'), {
          token: world.tokens.studentB,
        }),
        404,
      );
    });

    it('409 listing the clusters when an admin gives a VMID present on two clusters without ?cluster=', async () => {
      for (const call of [CONTRACT.status, CONTRACT.ip]) {
        const body = await expectError(
          await world.request('GET', path(call, aliceVm.vmid), { token: world.tokens.admin }),
          409,
        );
        expect(body).toMatchObject({
          error: {
            details: [
              { cluster_id: 'sim-1', vmid: aliceVm.vmid },
              { cluster_id: 'sim-2', vmid: aliceVm.vmid },
            ],
          },
        });
      }
      const resolved = await pagesCall(CONTRACT.status, world.tokens.admin, {
        vmid: aliceVm.vmid,
        query: '?cluster=sim-2',
      });
      expect(resolved.raw).toMatchObject({ cluster_id: 'sim-2', vmid: aliceVm.vmid });
    });

    it('403 for a user starting a sync (the original let anyone start a blocking full sync)', async () => {
      await expectError(
        await world.request('POST', CONTRACT.trigger.path, { token: world.tokens.studentA, body: {} }),
        403,
      );
    });
  });
});

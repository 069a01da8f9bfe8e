import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActionGateway,
  type ActionService,
  type ActionServiceDeps,
  createActionService,
} from '#shared/actions/action-service.ts';
import {
  ActionFailedError,
  OtherActionPendingError,
  ProxmoxUnavailableError,
} from '#shared/actions/errors.ts';
import { createGatewayProvider, type GatewayProvider } from '#shared/actions/gateway-provider.ts';
import { ConflictError, HttpError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';
import { pickGuest, simClusters, storedFromTruth } from './sim-fixtures.ts';

const admin: Caller = { username: 'dave', roles: { admin: true, teacher: false } };
const alice: Caller = { username: 'alice', roles: { admin: false, teacher: false } };

let sim: Simulator;
let tables: TestTables;
let repos: Repositories;
let provider: GatewayProvider;
/** Guests each test uses, so that no two tests act on the same guest. */
const used = new Set<number>();

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 2,
    nodesPerCluster: 2,
    guestsPerCluster: 40,
    seed: 5,
    taskDelayMs: 100,
    probeListeners: false,
    drift: false,
  });
  tables = await createTestTables('actions');
  repos = createDynamoDbRepositories(tables.documentClient, tables.names);
  const { clusters, env } = simClusters(sim);
  provider = createGatewayProvider(
    clusters,
    createProxmoxConnector({
      sources: { env },
      clientDeps: { connectTimeoutMs: 2_000, retry: { retries: 0 } },
      createClient: createHttpsProxmoxClient,
    }),
  );
  for (const cluster of sim.clusters) {
    await repos.inventory.batchPut(
      sim.groundTruth(cluster.id).map((guest) => storedFromTruth(cluster.id, cluster.name, guest)),
    );
  }
});

afterAll(async () => {
  await provider?.close();
  await tables?.drop();
  await sim?.stop();
});

/** The service on the simulator and DynamoDB Local; `observe` runs inside each power call. */
function service(
  overrides: Partial<ActionServiceDeps> = {},
  observe?: () => Promise<void>,
  taskOutlastsWait = false,
): ActionService {
  return createActionService({
    inventory: repos.inventory,
    ownership: repos.ownership,
    clusterIds: async () => provider.clusterIds(),
    gatewayFor: async (clusterId): Promise<ActionGateway> => {
      const gateway = await provider.gatewayFor(clusterId);
      if (observe === undefined && !taskOutlastsWait) return gateway;
      return {
        guestStatus: (...args) => gateway.guestStatus(...args),
        // A task still running when the wait ends, whatever the machine's load.
        waitForTask: taskOutlastsWait
          ? async (upid) => ({ finished: false as const, upid })
          : (...args) => gateway.waitForTask(...args),
        powerAction: async (...args) => {
          await observe?.();
          return gateway.powerAction(...args);
        },
      };
    },
    waitMs: 5_000,
    pollIntervalMs: 25,
    ...overrides,
  });
}

function take(clusterId: string, what: string, predicate: Parameters<typeof pickGuest>[3]) {
  const guest = pickGuest(sim, clusterId, what, predicate, used);
  used.add(guest.vmid);
  return guest;
}

const plain = (g: { template: boolean; lock?: string; hastate?: string; type: string }) =>
  !g.template && g.lock === undefined && g.hastate === undefined && g.type === 'qemu';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to be refused');
}

describe('power actions against the simulator and DynamoDB Local', () => {
  it('shows the pending state before Proxmox is called, then writes the confirmed status', async () => {
    const guest = take('sim-1', 'stopped plain VM', (g) => plain(g) && g.status === 'stopped');
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    let seenDuringCall: unknown;
    const before = sim.counters('sim-1').power;
    const result = await service({}, async () => {
      seenDuringCall = (await repos.inventory.getVm(key, { consistentRead: true }))?.pending_action;
    }).perform({ caller: admin, vmid: guest.vmid, action: 'start', clusterId: 'sim-1' });

    expect(seenDuringCall).toBe('start');
    expect(result).toMatchObject({ outcome: 'confirmed', key, action: 'start', status: 'running' });
    expect(sim.guest('sim-1', guest.vmid)?.status).toBe('running');
    const item = await repos.inventory.getVm(key, { consistentRead: true });
    expect(item).toMatchObject({ status: 'running' });
    expect(item?.pending_action).toBeUndefined();
    expect(item?.pending_since).toBeUndefined();
    expect(item?.boot_time).not.toBeNull();
    expect(sim.counters('sim-1').power - before).toBe(1);
  });

  it('answers pending when the task outlasts the wait, and a repeat makes no second Proxmox call', async () => {
    const guest = take('sim-1', 'running plain VM', (g) => plain(g) && g.status === 'running');
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    const impatient = service({}, undefined, true);
    const before = sim.counters('sim-1').power;

    const first = await impatient.perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'stop',
      clusterId: 'sim-1',
    });
    expect(first).toMatchObject({ outcome: 'pending', reason: 'task-running', action: 'stop' });
    const upid = first.outcome === 'pending' ? first.upid : undefined;
    expect(upid).toMatch(/^UPID:/);
    const item = await repos.inventory.getVm(key, { consistentRead: true });
    expect(item).toMatchObject({ pending_action: 'stop', pending_upid: upid, status: 'running' });

    const again = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'stop',
      clusterId: 'sim-1',
    });
    expect(again).toEqual({ outcome: 'pending', key, action: 'stop', upid, reason: 'already-pending' });
    expect(sim.counters('sim-1').power - before).toBe(1);

    const other = await rejection(
      service().perform({ caller: admin, vmid: guest.vmid, action: 'start', clusterId: 'sim-1' }),
    );
    expect(other).toBeInstanceOf(OtherActionPendingError);
    expect(sim.counters('sim-1').power - before).toBe(1);
  });

  it('reverts the pending state and returns Proxmox’s text when the task fails (locked guest)', async () => {
    const guest = take('sim-1', 'locked stopped VM', (g) => g.lock !== undefined && g.status === 'stopped');
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    const error = await rejection(
      service().perform({ caller: admin, vmid: guest.vmid, action: 'start', clusterId: 'sim-1' }),
    );
    expect(error).toBeInstanceOf(ActionFailedError);
    expect((error as ActionFailedError).status).toBe(409);
    expect((error as ActionFailedError).proxmoxMessage).toMatch(/locked \(snapshot\)/);
    expect((error as ActionFailedError).upid).toMatch(/^UPID:/);
    const item = await repos.inventory.getVm(key, { consistentRead: true });
    expect(item?.pending_action).toBeUndefined();
    expect(item?.status).toBe('stopped');
  });

  it('answers unchanged without a task when the table and Proxmox both say the guest is already running', async () => {
    const guest = take(
      'sim-1',
      'running plain container',
      (g) => g.type === 'lxc' && g.status === 'running' && g.lock === undefined && g.hastate === undefined,
    );
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    const before = sim.counters('sim-1');
    const result = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'start',
      clusterId: 'sim-1',
    });
    expect(result).toEqual({ outcome: 'unchanged', key, action: 'start', status: 'running' });
    const after = sim.counters('sim-1');
    expect(after.power - before.power).toBe(0);
    expect(after.status - before.status).toBe(1);
    expect((await repos.inventory.getVm(key, { consistentRead: true }))?.pending_action).toBeUndefined();
  });

  it('answers unchanged for a shutdown of a stopped VM, without a task', async () => {
    const guest = take('sim-2', 'stopped plain VM', (g) => plain(g) && g.status === 'stopped');
    const before = sim.counters('sim-2').power;
    const result = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'shutdown',
      clusterId: 'sim-2',
    });
    expect(result).toMatchObject({ outcome: 'unchanged', status: 'stopped' });
    expect(sim.counters('sim-2').power).toBe(before);
  });

  it('acts when the table says running but Proxmox says stopped (the table was behind)', async () => {
    const guest = take('sim-1', 'stopped plain VM shown running', (g) => plain(g) && g.status === 'stopped');
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    await repos.inventory.batchPut([
      { ...storedFromTruth('sim-1', 'sim-1', guest), status: 'running', observed_at: 2_000 },
    ]);
    const before = sim.counters('sim-1').power;
    const result = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'start',
      clusterId: 'sim-1',
    });
    expect(result).toMatchObject({ outcome: 'confirmed', key, status: 'running' });
    expect(sim.counters('sim-1').power - before).toBe(1);
    expect(sim.guest('sim-1', guest.vmid)?.status).toBe('running');
  });

  it('answers unchanged when Proxmox refuses because the guest already is in the target state', async () => {
    const guest = take(
      'sim-1',
      'running plain container shown stopped',
      (g) => g.type === 'lxc' && g.status === 'running' && g.lock === undefined && g.hastate === undefined,
    );
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    await repos.inventory.batchPut([
      { ...storedFromTruth('sim-1', 'sim-1', guest), status: 'stopped', observed_at: 2_000 },
    ]);
    const result = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'start',
      clusterId: 'sim-1',
    });
    expect(result).toEqual({ outcome: 'unchanged', key, action: 'start', status: 'running' });
    const item = await repos.inventory.getVm(key, { consistentRead: true });
    expect(item).toMatchObject({ status: 'running' });
    expect(item?.pending_action).toBeUndefined();
  });

  it('still refuses (409, reverted) when Proxmox refuses for another reason', async () => {
    const guest = take(
      'sim-1',
      'stopped plain container',
      (g) => g.type === 'lxc' && g.status === 'stopped' && g.lock === undefined && g.hastate === undefined,
    );
    const key = { cluster_id: 'sim-1', vmid: guest.vmid };
    await repos.inventory.batchPut([
      { ...storedFromTruth('sim-1', 'sim-1', guest), status: 'running', observed_at: 2_000 },
    ]);
    const error = await rejection(
      service().perform({ caller: admin, vmid: guest.vmid, action: 'reboot', clusterId: 'sim-1' }),
    );
    expect(error).toBeInstanceOf(ActionFailedError);
    expect((error as ActionFailedError).proxmoxMessage).toContain('not running');
    expect((await repos.inventory.getVm(key, { consistentRead: true }))?.pending_action).toBeUndefined();
  });

  it('confirms an HA-managed guest from its status, not from the HA request task', async () => {
    const guest = take('sim-2', 'stopped HA VM', (g) => g.hastate !== undefined && g.status === 'stopped');
    const key = { cluster_id: 'sim-2', vmid: guest.vmid };
    const before = sim.counters('sim-2');
    const result = await service().perform({
      caller: admin,
      vmid: guest.vmid,
      action: 'start',
      clusterId: 'sim-2',
    });
    expect(result).toMatchObject({ outcome: 'confirmed', status: 'running' });
    const after = sim.counters('sim-2');
    expect(after.power - before.power).toBe(1);
    expect(after.status - before.status).toBeGreaterThanOrEqual(1);
    expect(sim.guest('sim-2', guest.vmid)?.status).toBe('running');
    expect(await repos.inventory.getVm(key, { consistentRead: true })).toMatchObject({ status: 'running' });
  });

  it('refuses to start a template (409) without calling Proxmox', async () => {
    const guest = take('sim-1', 'template', (g) => g.template);
    const before = sim.counters('sim-1').power;
    const error = await rejection(
      service().perform({ caller: admin, vmid: guest.vmid, action: 'start', clusterId: 'sim-1' }),
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe('Templates cannot be started');
    expect(sim.counters('sim-1').power).toBe(before);
  });

  it('needs ?cluster= when the VMID exists on several clusters the caller sees (409 with candidates)', async () => {
    const error = await rejection(service().perform({ caller: admin, vmid: 100, action: 'start' }));
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toEqual([
      { cluster_id: 'sim-1', vmid: 100 },
      { cluster_id: 'sim-2', vmid: 100 },
    ]);
  });

  it("resolves a user's VMID to their cluster and answers 404 for another cluster's VM", async () => {
    const guest = take(
      'sim-1',
      'stopped plain VM for alice whose VMID is also on sim-2',
      (g) => plain(g) && g.status === 'stopped' && sim.guest('sim-2', g.vmid) !== undefined,
    );
    expect(sim.guest('sim-2', guest.vmid)).toBeDefined();
    await repos.ownership.putAssignment({
      username: 'alice',
      cluster_id: 'sim-1',
      vmid: guest.vmid,
      source: 'admin',
      created_at: 1,
    });
    const before = sim.counters('sim-2').power;
    const hidden = await rejection(
      service().perform({ caller: alice, vmid: guest.vmid, action: 'start', clusterId: 'sim-2' }),
    );
    expect(hidden).toBeInstanceOf(NotFoundError);
    const notHers = await rejection(service().perform({ caller: alice, vmid: 199_999, action: 'start' }));
    expect(notHers).toBeInstanceOf(NotFoundError);
    expect(sim.counters('sim-2').power).toBe(before);

    const result = await service().perform({ caller: alice, vmid: guest.vmid, action: 'start' });
    expect(result).toMatchObject({ outcome: 'confirmed', key: { cluster_id: 'sim-1', vmid: guest.vmid } });
  });

  it('reverts and reports Proxmox unavailable when the cluster refuses connections', async () => {
    const guest = take('sim-2', 'running plain VM', (g) => plain(g) && g.status === 'running');
    const key = { cluster_id: 'sim-2', vmid: guest.vmid };
    sim.faults.setClusterDown('sim-2', true);
    try {
      const error = await rejection(
        service().perform({ caller: admin, vmid: guest.vmid, action: 'shutdown', clusterId: 'sim-2' }),
      );
      expect(error).toBeInstanceOf(ProxmoxUnavailableError);
      expect(error).not.toBeInstanceOf(HttpError);
    } finally {
      sim.faults.setClusterDown('sim-2', false);
    }
    expect((await repos.inventory.getVm(key, { consistentRead: true }))?.pending_action).toBeUndefined();
  });
});

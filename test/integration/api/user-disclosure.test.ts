import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createVmActionHandler } from '#functions/api/vm-action.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { createActionService } from '#shared/actions/action-service.ts';
import { createGatewayProvider, type GatewayProvider } from '#shared/actions/gateway-provider.ts';
import { GENERIC_SYNC_ERROR } from '#shared/http/disclosure.ts';
import { ListVmsResponseSchema, VmSchema } from '#shared/http/schemas/vms.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { toSyncError } from '#shared/sync/sync-error.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { pickGuest, simClusters, storedFromTruth } from '../actions/sim-fixtures.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld } from './api-world.ts';

/**
 * What users see of cluster faults: the fault suite (8 faults injected into the Proxmox simulator)
 * against the real action service and the real Proxmox client, through the local gateway. No
 * response to a user contains an address, a node name or a Proxmox path; an admin gets the detail.
 * A VM's `sync_error` (the real client's error text under each fault) is generic for users too.
 */

let sim: Simulator;
let world: ApiWorld;
let provider: GatewayProvider;
let clusterId: string;
const vmids: number[] = [];

interface Fault {
  readonly fault: string;
  readonly apply: (sim: Simulator, cluster: string, node: string) => void;
}

const FAULTS: Fault[] = [
  { fault: 'cluster down', apply: (s, c) => s.faults.setClusterDown(c, true) },
  { fault: 'node endpoint down', apply: (s, c, n) => s.faults.setEndpointDown(c, n, true) },
  { fault: 'power call latency beyond the timeout', apply: (s, c) => s.faults.setLatency(c, 'power', 4_000) },
  { fault: "the guest's node offline", apply: (s, c, n) => s.faults.setNodeOffline(c, n, true) },
  { fault: 'HTTP 500s', apply: (s, c) => s.faults.setErrorRate(c, 'power', 1, 500) },
  { fault: 'HTTP 403s', apply: (s, c) => s.faults.setErrorRate(c, 'power', 1, 403) },
  { fault: 'malformed JSON', apply: (s, c) => s.faults.setMalformed(c, 'power', true) },
  { fault: 'revoked token', apply: (s, c) => s.faults.setTokenRevoked(c, true) },
];

/** Internals a user must never see. */
function leaks(text: string, nodes: readonly string[]): string[] {
  const found: string[] = [];
  if (/\b\d{1,3}(\.\d{1,3}){3}\b/.test(text)) found.push('an IPv4 address');
  if (/\[?[0-9a-f]*:[0-9a-f]*:[0-9a-f:]+\]?:\d+/i.test(text) || /::1/.test(text))
    found.push('an IPv6 address');
  if (/:8006\b|localhost:\d+/.test(text)) found.push('a host and port');
  if (/\/api2\/|\/nodes\/|\/var\/|\/etc\/pve|qemu-server|lxc\//.test(text)) found.push('a Proxmox path');
  if (/UPID:/.test(text)) found.push('a task id');
  for (const node of nodes) if (new RegExp(`\\b${node}\\b`).test(text)) found.push(`node ${node}`);
  return found;
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 2,
    guestsPerCluster: 30,
    seed: 11,
    taskDelayMs: 50,
    probeListeners: false,
    drift: false,
  });
  const cluster = sim.clusters[0];
  if (cluster === undefined) throw new Error('no simulated cluster');
  clusterId = cluster.id;
  const { clusters, env } = simClusters(sim);
  provider = createGatewayProvider(
    clusters,
    createProxmoxConnector({
      sources: { env },
      createClient: createHttpsProxmoxClient,
      clientDeps: {
        connectTimeoutMs: 1_000,
        retry: { retries: 0 },
        endpointCooldownMs: 0,
        timeouts: { power: { headersMs: 1_500, bodyMs: 1_500 } },
      },
    }),
  );
  let actionHandler: GatewayLambdaHandler | undefined;
  world = await startApiWorld('api-disclosure', {
    vmAction: (event: never, context: Context) => actionHandler?.(event, context),
  });
  actionHandler = createVmActionHandler(async () =>
    createActionService({
      inventory: world.repositories.inventory,
      ownership: world.repositories.ownership,
      clusterIds: async () => provider.clusterIds(),
      gatewayFor: (id) => provider.gatewayFor(id),
      waitMs: 2_000,
      pollIntervalMs: 50,
    }),
  );
  const used = new Set<number>();
  for (let index = 0; index < FAULTS.length; index++) {
    const guest = pickGuest(
      sim,
      clusterId,
      'a plain stopped QEMU guest',
      (g) =>
        !g.template &&
        g.lock === undefined &&
        g.hastate === undefined &&
        g.type === 'qemu' &&
        g.status === 'stopped',
      used,
    );
    used.add(guest.vmid);
    vmids.push(guest.vmid);
  }
  await world.repositories.inventory.batchPut(
    sim.groundTruth(clusterId).map((guest) => storedFromTruth(clusterId, cluster.name, guest)),
  );
  await world.repositories.syncState.putClusterState(freshClusterState(clusterId));
  for (const vmid of vmids) {
    await world.repositories.ownership.putAssignment({
      username: 'alice',
      cluster_id: clusterId,
      vmid,
      source: 'admin',
      created_at: NOW_MS,
    });
  }
}, 60_000);

/** Waits for a teardown step at most `ms` (a faulted endpoint may keep a connection open). */
const bounded = (step: Promise<unknown> | undefined, ms: number) =>
  Promise.race([step, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

afterAll(async () => {
  await world?.close();
  await bounded(sim?.stop(), 10_000);
  await bounded(provider?.close(), 10_000);
}, 60_000);

describe('the fault suite, as a user and as an admin', () => {
  const nodes = () => [...new Set(sim.groundTruth(clusterId).map((guest) => guest.node))];

  it.each(FAULTS.map((fault, index) => [fault.fault, index] as const))(
    '%s: the user gets a generic reason and the request id, the admin the detail',
    async (_name, index) => {
      const fault = FAULTS[index] as Fault;
      const vmid = vmids[index] as number;
      const guest = sim.guest(clusterId, vmid);
      sim.faults.reset();
      fault.apply(sim, clusterId, guest?.node ?? 'pve1');
      try {
        // The real client's error under this fault becomes the VM's sync_error, as the sync stores it.
        const gateway = await provider.gatewayFor(clusterId);
        const failure = await gateway.powerAction(guest?.node ?? 'pve1', 'qemu', vmid, 'start').then(
          () => null,
          (error: unknown) => error,
        );
        if (failure !== null) {
          const [stored] = await world.repositories.inventory.getVms([{ cluster_id: clusterId, vmid }]);
          if (stored !== undefined)
            await world.repositories.inventory.batchPut([{ ...stored, sync_error: toSyncError(failure) }]);
        }

        const asUser = await world.request('POST', `/api/vm/${vmid}/stop?cluster=${clusterId}`, {
          token: world.tokens.studentA,
        });
        const userText = await asUser.text();
        // Some faults still end in success (another endpoint answered, or 202 while unconfirmed):
        // those answers have the success shape; every error answer must be generic.
        if (asUser.status < 400) {
          expect(JSON.parse(userText)).not.toHaveProperty('error');
          return;
        }
        expect(leaks(userText, nodes()), userText).toEqual([]);
        const body = JSON.parse(userText) as { error: { request_id?: string; detail?: string } };
        expect(body.error.request_id).toBe(asUser.headers.get('apigw-requestid'));
        expect(body.error.detail).toBeUndefined();

        const asAdmin = await world.request('POST', `/api/vm/${vmid}/stop?cluster=${clusterId}`, {
          token: world.tokens.admin,
        });
        const adminBody = (await asAdmin.json()) as { error?: { detail?: string } };
        if (asAdmin.status === 502 || asAdmin.status === 409) {
          expect(adminBody.error?.detail, JSON.stringify(adminBody)).toBeTruthy();
        }
      } finally {
        sim.faults.reset();
      }
    },
    30_000,
  );

  it("shows users a generic sync_error and admins the client's text", async () => {
    const list = ListVmsResponseSchema.parse(
      await (
        await world.request('GET', `/api/vms?cluster=${clusterId}`, { token: world.tokens.studentA })
      ).json(),
    );
    const failing = list.vms.filter((vm) => vm.sync_error !== null);
    expect(failing.length).toBeGreaterThan(0);
    for (const vm of failing) expect(vm.sync_error).toBe(GENERIC_SYNC_ERROR);
    const one = failing[0];
    // The original portal's status route answers the same VM shape: just as generic.
    const status = (await (
      await world.request('GET', `/api/vm/${one?.vmid}/status?cluster=${clusterId}`, {
        token: world.tokens.studentA,
      })
    ).json()) as { ok: boolean; sync_error: string | null };
    expect(status.ok).toBe(true);
    expect(status.sync_error).toBe(GENERIC_SYNC_ERROR);
    const asAdmin = VmSchema.parse(
      await (
        await world.request('GET', `/api/vms/${clusterId}/${one?.vmid}`, { token: world.tokens.admin })
      ).json(),
    );
    expect(asAdmin.sync_error).not.toBe(GENERIC_SYNC_ERROR);
    // The admin's text is the real client's, with the internals the user never sees.
    expect(leaks(asAdmin.sync_error ?? '', nodes()).length).toBeGreaterThan(0);
  });
});

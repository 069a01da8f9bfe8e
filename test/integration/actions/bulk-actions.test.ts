import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createBulkActionHandler } from '#functions/api/bulk-action.ts';
import { createGetBulkActionHandler } from '#functions/api/get-bulk-action.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import type { BulkServiceDeps } from '#shared/actions/bulk-service.ts';
import { createGatewayProvider, type GatewayProvider } from '#shared/actions/gateway-provider.ts';
import { createActionWiring } from '#shared/actions/wiring.ts';
import { type Alert, createAlertPublisher } from '#shared/alerts/alerts.ts';
import { auditAlertSink } from '#shared/alerts/sinks.ts';
import { alertSinksFromEnv, bindLocalAlertSink } from '#shared/alerts/wiring.ts';
import { type BulkActionResponse, BulkActionResponseSchema } from '#shared/http/schemas/bulk.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { DynamoDbBulkJobStore } from '#shared/store/dynamodb/bulk-job-repository.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { type GroundTruthGuest, type Simulator, startSimulator } from '#simulator/index.ts';
import { type ApiWorld, startApiWorld } from '../api/api-world.ts';
import { simClusters, storedFromTruth } from './sim-fixtures.ts';

/**
 * Bulk actions through the local gateway (JWT authorizer), the real handlers, DynamoDB Local and
 * the Proxmox simulator: a teacher starts a 30-VM class (and its template, refused), the load on
 * each node stays within its 3 workers, every VM is reported and audited; the status route; who may;
 * a request whose power calls Proxmox fails raises one `action_failed` alert (refusals and
 * successes none), in the audit trail and on the bound local sink (the local stack's status line).
 */

const CLASS_ID = 'lab-30';
let sim: Simulator;
let world: ApiWorld;
let provider: GatewayProvider;
let clusterId: string;
let classGuests: GroundTruthGuest[];
let template: GroundTruthGuest;
let aliceOwn: GroundTruthGuest;
let bobOwn: GroundTruthGuest;
/** The alerts delivered to the bound local sink. */
const alerts: Alert[] = [];
let unbindAlerts: (() => void) | undefined;

const plain = (g: GroundTruthGuest) => !g.template && g.lock === undefined && g.hastate === undefined;

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 3,
    guestsPerCluster: 60,
    seed: 23,
    taskDelayMs: 100,
    probeListeners: false,
    drift: false,
  });
  clusterId = sim.clusters[0]?.id ?? '';
  const clusterName = sim.clusters[0]?.name ?? '';
  const guests = sim.groundTruth(clusterId);
  const usable = guests.filter(plain);
  classGuests = usable.slice(0, 30);
  const rest = usable.slice(30);
  const [a, b] = rest;
  const foundTemplate = guests.find((g) => g.template);
  if (classGuests.length < 30 || a === undefined || b === undefined || foundTemplate === undefined)
    throw new Error('the simulated cluster has too few guests');
  [aliceOwn, bobOwn, template] = [a, b, foundTemplate];
  for (const guest of [...classGuests, aliceOwn, bobOwn])
    sim.setGuestStatus(clusterId, guest.vmid, 'stopped');
  await sim.settled();

  let handlers: Record<string, GatewayLambdaHandler> = {};
  world = await startApiWorld(
    'bulk',
    {
      bulkAction: (event: never, context: Context) => handlers.bulkAction?.(event, context),
      getBulkAction: (event: never, context: Context) => handlers.getBulkAction?.(event, context),
    },
    Date.now,
  );
  const { repositories } = world;
  const { clusters, env } = simClusters(sim);
  provider = createGatewayProvider(
    clusters,
    createProxmoxConnector({
      createClient: createHttpsProxmoxClient,
      sources: { env },
      clientDeps: { connectTimeoutMs: 2_000, retry: { retries: 0 } },
    }),
  );
  const wiring = createActionWiring(clusters, provider, {
    inventory: repositories.inventory,
    ownership: repositories.ownership,
    pollIntervalMs: 50,
  });
  const jobs = new DynamoDbBulkJobStore(world.tables.documentClient, world.tables.names.syncState);
  unbindAlerts = bindLocalAlertSink({
    name: 'status-line',
    deliver: async (alert) => void alerts.push(alert),
  });
  const audit = world.deps.audit;
  if (audit === undefined) throw new Error('the API world has no audit trail');
  const deps: BulkServiceDeps = {
    inventory: repositories.inventory,
    ownership: repositories.ownership,
    jobs,
    newId: randomUUID,
    actionService: (waitMs) => wiring.actionService(waitMs),
    workerLimit: (id) => wiring.workerLimit(id),
    audit: world.deps.audit,
    publishAlert: createAlertPublisher({
      sinks: [auditAlertSink(audit), ...alertSinksFromEnv({})],
      logger: { error: () => {} },
    }),
    vmWaitMs: 5_000,
    budgetMs: 25_000,
  };
  handlers = {
    bulkAction: createBulkActionHandler(async () => deps),
    getBulkAction: createGetBulkActionHandler(
      () => world.deps,
      () => jobs,
    ),
  };

  await repositories.inventory.batchPut(
    sim.groundTruth(clusterId).map((guest) => storedFromTruth(clusterId, clusterName, guest)),
  );
  const { ownership } = repositories;
  await ownership.putClass({ class_id: CLASS_ID, name: 'Thirty', owner: 'carol', created_at: Date.now() });
  await ownership.addClassMember(CLASS_ID, 'carol', 'teacher');
  await ownership.addClassMember(CLASS_ID, 'alice', 'student');
  for (const guest of [...classGuests, template]) {
    await ownership.assignClassVm(CLASS_ID, { cluster_id: clusterId, vmid: guest.vmid }, null, Date.now());
  }
  for (const [username, guest] of [
    ['alice', aliceOwn],
    ['bob', bobOwn],
  ] as const) {
    await ownership.putAssignment({
      username,
      cluster_id: clusterId,
      vmid: guest.vmid,
      source: 'admin',
      created_at: Date.now(),
    });
  }
}, 60_000);

afterAll(async () => {
  unbindAlerts?.();
  await provider?.close();
  await world?.close();
  await sim?.stop();
});

async function bulk(token: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await world.request('POST', '/api/bulk-actions', { token, body });
  return { status: response.status, json: await response.json() };
}

describe('a teacher starts a 30-VM class', () => {
  let answer: BulkActionResponse;

  beforeAll(async () => {
    sim.resetCounters();
    const { status, json } = await bulk(world.tokens.teacher, { action: 'start', class_id: CLASS_ID });
    expect(status, JSON.stringify(json)).toBe(200);
    answer = BulkActionResponseSchema.parse(json);
  }, 60_000);

  it('answers one line per class VM: the 30 started, the template refused with its reason', () => {
    expect(answer.results).toHaveLength(31);
    const byVmid = new Map(answer.results.map((line) => [line.vmid, line]));
    for (const guest of classGuests) {
      expect(['done', 'pending']).toContain(byVmid.get(guest.vmid)?.outcome);
    }
    expect(byVmid.get(template.vmid)).toMatchObject({ outcome: 'refused', error_code: 'conflict' });
    expect(answer.counts.refused).toBe(1);
    expect(answer.counts.done + answer.counts.pending).toBe(30);
  });

  it('starts every class VM on Proxmox with one power call each, within 3 calls per node at once', async () => {
    for (const guest of classGuests) expect(sim.guest(clusterId, guest.vmid)?.status).toBe('running');
    expect(sim.counters(clusterId).power).toBe(30);
    const peaks = sim.peakInFlight(clusterId);
    const nodes = new Set(classGuests.map((g) => g.node));
    expect(nodes.size).toBeGreaterThan(1);
    for (const node of nodes) expect(peaks[node], `node ${node}`).toBeLessThanOrEqual(3);
  });

  it('the status route reports every VM done once the sync would have nothing left to confirm', async () => {
    let polled: BulkActionResponse | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await world.request('GET', `/api/bulk-actions/${answer.bulk_id}`, {
        token: world.tokens.teacher,
      });
      expect(response.status).toBe(200);
      polled = BulkActionResponseSchema.parse(await response.json());
      if (polled.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(polled?.results.map((line) => line.vmid)).toEqual(answer.results.map((line) => line.vmid));
    // lines that were pending stay pending until the table confirms them: the bulk never invents it
    const stillPending = polled?.results.filter((line) => line.outcome === 'pending') ?? [];
    const confirmed = await world.repositories.inventory.getVms(
      stillPending.map((line) => ({ cluster_id: line.cluster_id, vmid: line.vmid })),
    );
    for (const vm of confirmed) expect(vm.pending_action).toBe('start');
    expect(polled?.counts.refused).toBe(1);
  });

  it('audits each VM with the teacher as actor and the class as target', async () => {
    const page = await world.deps.audit?.listAudit({ classId: CLASS_ID, actor: 'carol' }, 100);
    const perVm = page?.entries.filter(
      (entry) => entry.action === 'bulkAction' && entry.target.vmid !== undefined,
    );
    expect(perVm).toHaveLength(31);
    expect(perVm?.filter((entry) => entry.result === 'refused').map((entry) => entry.target.vmid)).toEqual([
      template.vmid,
    ]);
    expect(new Set(perVm?.map((entry) => entry.target.operation))).toEqual(new Set(['start']));
  });

  it('keeps the job to its caller and admins', async () => {
    const path = `/api/bulk-actions/${answer.bulk_id}`;
    expect((await world.request('GET', path, { token: world.tokens.studentA })).status).toBe(404);
    expect((await world.request('GET', path, { token: world.tokens.admin })).status).toBe(200);
  });
});

describe('who may act in bulk', () => {
  it("refuses a class's bulk action to its students (403) and to strangers (404)", async () => {
    expect((await bulk(world.tokens.studentA, { action: 'stop', class_id: CLASS_ID })).status).toBe(403);
    expect((await bulk(world.tokens.studentB, { action: 'stop', class_id: CLASS_ID })).status).toBe(404);
  });

  it('acts on the caller’s own VMs of a list and refuses the others without hiding the success', async () => {
    sim.resetCounters();
    const { status, json } = await bulk(world.tokens.studentA, {
      action: 'start',
      vms: [
        { cluster_id: clusterId, vmid: aliceOwn.vmid },
        { cluster_id: clusterId, vmid: bobOwn.vmid },
      ],
    });
    expect(status, JSON.stringify(json)).toBe(200);
    const answer = BulkActionResponseSchema.parse(json);
    expect(answer.results.map((line) => [line.vmid, line.outcome, line.error_code])).toEqual([
      [aliceOwn.vmid, expect.stringMatching(/^(done|pending)$/), null],
      [bobOwn.vmid, 'refused', 'not_found'],
    ]);
    expect(sim.guest(clusterId, aliceOwn.vmid)?.status).toBe('running');
    expect(sim.guest(clusterId, bobOwn.vmid)?.status).toBe('stopped');
    expect(sim.counters(clusterId).power).toBe(1);
  });

  it('names what is wrong with a bad body', async () => {
    const both = await bulk(world.tokens.admin, { action: 'start', class_id: CLASS_ID, vms: [] });
    expect(both.status).toBe(400);
    const neither = await bulk(world.tokens.admin, { action: 'start' });
    expect(neither.status).toBe(400);
    expect(JSON.stringify(neither.json)).toContain('exactly one of vms and class_id');
    const badAction = await bulk(world.tokens.admin, { action: 'explode', class_id: CLASS_ID });
    expect(badAction.status).toBe(400);
  });
});

describe('alerts of bulk actions', () => {
  afterAll(() => sim.faults.reset());

  it('raised none for the requests above: refusals (template, not visible) are the caller’s to read', () => {
    expect(alerts).toEqual([]);
  });

  it('raises one action_failed alert for a request whose power calls Proxmox fails, not one per VM', async () => {
    const targets = [aliceOwn, classGuests[0] as GroundTruthGuest];
    for (const guest of targets) expect(sim.guest(clusterId, guest.vmid)?.status).toBe('running');
    sim.faults.setErrorRate(clusterId, 'power', 1, 500);
    const { status, json } = await bulk(world.tokens.admin, {
      action: 'stop',
      vms: targets.map((guest) => ({ cluster_id: clusterId, vmid: guest.vmid })),
    });
    expect(status, JSON.stringify(json)).toBe(200);
    const answer = BulkActionResponseSchema.parse(json);
    expect(answer.results.map((line) => [line.outcome, line.error_code])).toEqual([
      ['refused', 'action_failed'],
      ['refused', 'action_failed'],
    ]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'action_failed',
      subject: 'Bulk stop failed: VMs (2 failed)',
      details: { source: 'bulk', action: 'stop', reference: answer.bulk_id, failed: 2 },
    });
    expect(alerts[0]?.details.vmid).toBeUndefined();
    const page = await world.deps.audit?.listAudit({ actor: 'system' }, 10);
    expect(page?.entries.map((e) => [e.action, e.target.operation, e.result, e.request_id])).toEqual([
      ['alert.action_failed', 'action_failed', 'failed', alerts[0]?.id],
    ]);
  });

  it('raises none for a fully successful request', async () => {
    sim.faults.reset();
    const { status, json } = await bulk(world.tokens.admin, {
      action: 'stop',
      vms: [{ cluster_id: clusterId, vmid: aliceOwn.vmid }],
    });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(BulkActionResponseSchema.parse(json).counts).toMatchObject({ refused: 0, failed: 0 });
    expect(alerts).toHaveLength(1);
  });
});

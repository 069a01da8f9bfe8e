import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createRunClassSchedulesHandler } from '#functions/schedule/run-class-schedules.ts';
import { createGatewayProvider, type GatewayProvider } from '#shared/actions/gateway-provider.ts';
import { type ActionWiring, createActionWiring } from '#shared/actions/wiring.ts';
import { type Alert, createAlertPublisher, type PublishAlert } from '#shared/alerts/alerts.ts';
import { auditAlertSink } from '#shared/alerts/sinks.ts';
import { alertSinksFromEnv, bindLocalAlertSink } from '#shared/alerts/wiring.ts';
import type { AuditEntry } from '#shared/audit/audit-entry.ts';
import type { HistoryBucket } from '#shared/domain/metrics-history.ts';
import type { VmKey } from '#shared/domain/vm-record.ts';
import { ApiVmSchema } from '#shared/domain/vm-record.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { historyCpuPort } from '#shared/schedules/history-cpu.ts';
import type { ScheduleRunDeps } from '#shared/schedules/run-schedules.ts';
import { DynamoDbClassScheduleStore } from '#shared/store/dynamodb/class-schedule-repository.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { type GroundTruthGuest, type Simulator, startSimulator } from '#simulator/index.ts';
import { simClusters, storedFromTruth } from '../actions/sim-fixtures.ts';
import { type ApiWorld, startApiWorld } from '../api/api-world.ts';

/**
 * Class schedules on DynamoDB Local and the Proxmox simulator, on a simulated clock: a night
 * shutdown fires once at its time (two runs racing for the window act once), is audited with the
 * schedule as actor, and skips a VM a user just started; the idle rule warns first (the warning is
 * on the VM in the API), then shuts the idle VM down, spares a busy one and one kept running.
 * The CPU history is read from the metrics history store (minute buckets written here as the
 * quick sync writes them). A scheduled shutdown Proxmox fails raises one `action_failed` alert, in
 * the audit trail and on the bound local sink (the local stack's status line); successful runs none.
 */

const MINUTE = 60_000;
let sim: Simulator;
let world: ApiWorld;
let provider: GatewayProvider;
let wiring: ActionWiring;
let clusterId: string;
let clock: number;
let guests: GroundTruthGuest[];
/** The alerts delivered to the bound local sink (what the local stack's status line shows). */
const alerts: Alert[] = [];
let unbindAlerts: (() => void) | undefined;
let publishAlert: PublishAlert;

/** Writes the metrics history's minute buckets of `vms` (busy ones at 40 %, the others at 1.5 %). */
async function recordHistory(
  vms: readonly GroundTruthGuest[],
  busy: ReadonlySet<number>,
  from: number,
  to: number,
) {
  const buckets: HistoryBucket[] = [];
  for (let t = Math.ceil(from / MINUTE) * MINUTE; t <= to; t += MINUTE) {
    for (const node of new Set(vms.map((vm) => vm.node))) {
      const values = (cpu: number) => ({ cpu_avg: cpu, cpu_max: cpu, mem_avg: 30, mem_max: 30 });
      buckets.push({
        cluster_id: clusterId,
        node,
        resolution: '1m',
        t,
        samples: 2,
        guests: new Map(
          vms.filter((vm) => vm.node === node).map((vm) => [vm.vmid, values(busy.has(vm.vmid) ? 40 : 1.5)]),
        ),
      });
    }
  }
  await world.repositories.history.putBuckets(buckets);
}

function deps(): ScheduleRunDeps {
  return {
    schedules: new DynamoDbClassScheduleStore(world.tables.documentClient, world.tables.names.ownership),
    ownership: world.repositories.ownership,
    inventory: world.repositories.inventory,
    bulk: {
      actionService: (waitMs) => wiring.actionService(waitMs),
      workerLimit: (id) => wiring.workerLimit(id),
    },
    cpuHistory: historyCpuPort(world.repositories.history),
    audit: world.deps.audit,
    publishAlert,
    now: () => clock,
    settings: { userGraceMs: 30 * MINUTE, idleWarningMs: 10 * MINUTE },
  };
}

const run = createRunClassSchedulesHandler(async () => deps());
const key = (guest: GroundTruthGuest): VmKey => ({ cluster_id: clusterId, vmid: guest.vmid });

async function linkClass(classId: string, members: readonly GroundTruthGuest[]): Promise<void> {
  const { ownership } = world.repositories;
  await ownership.putClass({ class_id: classId, name: classId, owner: 'carol', created_at: clock });
  await ownership.addClassMember(classId, 'carol', 'teacher');
  for (const guest of members) await ownership.assignClassVm(classId, key(guest), null, clock);
}

async function auditOf(classId: string): Promise<AuditEntry[]> {
  const page = await world.deps.audit?.listAudit({ classId, actor: `schedule:${classId}` }, 100);
  return page?.entries ?? [];
}

beforeAll(async () => {
  clock = Date.now();
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 2,
    guestsPerCluster: 30,
    seed: 41,
    taskDelayMs: 100,
    probeListeners: false,
    drift: false,
  });
  clusterId = sim.clusters[0]?.id ?? '';
  guests = sim
    .groundTruth(clusterId)
    .filter((g) => !g.template && g.lock === undefined && g.hastate === undefined)
    .slice(0, 6);
  if (guests.length < 6) throw new Error('the simulated cluster has too few plain guests');
  for (const [i, guest] of guests.entries())
    sim.setGuestStatus(clusterId, guest.vmid, i === 1 ? 'stopped' : 'running');
  await sim.settled();
  world = await startApiWorld('schedules', {}, () => clock);
  // the sinks the local stack has: the audit trail and its bound status-line sink
  unbindAlerts = bindLocalAlertSink({
    name: 'status-line',
    deliver: async (alert) => void alerts.push(alert),
  });
  const audit = world.deps.audit;
  if (audit === undefined) throw new Error('the API world has no audit trail');
  publishAlert = createAlertPublisher({
    sinks: [auditAlertSink(audit), ...alertSinksFromEnv({})],
    logger: { error: () => {} },
  });
  const { clusters, env } = simClusters(sim);
  provider = createGatewayProvider(
    clusters,
    createProxmoxConnector({
      createClient: createHttpsProxmoxClient,
      sources: { env },
      clientDeps: { connectTimeoutMs: 2_000, retry: { retries: 0 } },
    }),
  );
  wiring = createActionWiring(clusters, provider, {
    inventory: world.repositories.inventory,
    ownership: world.repositories.ownership,
    pollIntervalMs: 50,
  });
  const name = sim.clusters[0]?.name ?? '';
  // running guests booted long ago (boot_time null: unknown, never "just started")
  await world.repositories.inventory.batchPut(
    sim.groundTruth(clusterId).map((guest) => storedFromTruth(clusterId, name, guest)),
  );
}, 60_000);

afterAll(async () => {
  unbindAlerts?.();
  await provider?.close();
  await world?.close();
  await sim?.stop();
});

describe('a night shutdown', () => {
  const CLASS = 'night';
  let fireAt: number;
  let longRunning: GroundTruthGuest;
  let userStarted: GroundTruthGuest;

  beforeAll(async () => {
    [longRunning, userStarted] = guests as [GroundTruthGuest, GroundTruthGuest];
    await linkClass(CLASS, [longRunning, userStarted]);
    fireAt = Math.ceil(clock / MINUTE) * MINUTE + 3 * MINUTE;
    const fire = new Date(fireAt);
    const response = await world.request('PUT', `/api/classes/${CLASS}/schedule`, {
      token: world.tokens.teacher,
      body: { timezone: 'UTC', shutdown_cron: `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *` },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    // a user starts the stopped VM shortly before the night shutdown (the action service of the action route)
    const result = await wiring.actionService(5_000).perform({
      caller: { username: 'alice', roles: { admin: true, teacher: false } },
      vmid: userStarted.vmid,
      action: 'start',
      clusterId,
    });
    expect(result.outcome).toBe('confirmed');
  }, 30_000);

  it('does nothing before its time', async () => {
    clock = fireAt - 4 * MINUTE;
    sim.resetCounters();
    const output = await run();
    expect(output.classes.find((c) => c.class_id === CLASS)).toMatchObject({ evaluated: true, shut_down: 0 });
    expect(sim.counters(clusterId).power).toBe(0);
  });

  it('fires once at its time (two runs racing), skipping the VM a user just started', async () => {
    clock = fireAt + MINUTE;
    const [a, b] = await Promise.all([run(), run()]);
    const summaries = [a, b].map((output) => output.classes.find((c) => c.class_id === CLASS));
    expect(summaries.filter((s) => s?.evaluated)).toHaveLength(1);
    expect(summaries.find((s) => s?.evaluated)).toMatchObject({ shut_down: 1, skipped: 1 });
    expect(sim.counters(clusterId).power).toBe(1);
    expect(sim.guest(clusterId, longRunning.vmid)?.status).toBe('stopped');
    expect(sim.guest(clusterId, userStarted.vmid)?.status).toBe('running');
    // a shutdown that went through (and a skip) is no alert
    expect(alerts).toEqual([]);
  });

  it('does not fire again in the next windows', async () => {
    clock = fireAt + 6 * MINUTE;
    await run();
    clock = fireAt + 11 * MINUTE;
    await run();
    expect(sim.counters(clusterId).power).toBe(1);
  });

  it('is audited with the schedule as actor: the shutdown and the skip', async () => {
    const entries = await auditOf(CLASS);
    expect(
      entries.map((e) => [e.action, e.target.vmid, e.target.operation, e.result, e.error_code]).sort(),
    ).toEqual(
      [
        ['scheduledShutdown', longRunning.vmid, 'shutdown', 'success', null],
        ['scheduledShutdown', userStarted.vmid, 'shutdown', 'refused', 'recently_started'],
      ].sort(),
    );
  });
});

describe('the idle rule', () => {
  const CLASS = 'idle';
  let busy: GroundTruthGuest;
  let idle: GroundTruthGuest;
  let keptRunning: GroundTruthGuest;
  let start: number;

  const apiVm = async (guest: GroundTruthGuest) => {
    const response = await world.request('GET', `/api/vms/${clusterId}/${guest.vmid}`, {
      token: world.tokens.admin,
    });
    return ApiVmSchema.parse(await response.json());
  };

  beforeAll(async () => {
    [, , busy, idle, keptRunning] = guests as GroundTruthGuest[] as [
      GroundTruthGuest,
      GroundTruthGuest,
      GroundTruthGuest,
      GroundTruthGuest,
      GroundTruthGuest,
    ];
    await linkClass(CLASS, [busy, idle, keptRunning]);
    await world.repositories.ownership.putAssignment({
      username: 'alice',
      cluster_id: clusterId,
      vmid: keptRunning.vmid,
      source: 'admin',
      created_at: clock,
    });
    const response = await world.request('PUT', `/api/classes/${CLASS}/schedule`, {
      token: world.tokens.admin,
      body: { timezone: 'Europe/Berlin', idle: { enabled: true } },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({
      schedule: { idle: { cpu_below_percent: 5, minutes: 60 } },
    });
    start = clock + 30 * MINUTE;
    await recordHistory(
      [busy, idle, keptRunning],
      new Set([busy.vmid]),
      start - 75 * MINUTE,
      start + 30 * MINUTE,
    );
  });

  it('first warns on the idle VMs, with the shutdown time on the VM in the API; the busy one gets none', async () => {
    clock = start;
    sim.resetCounters();
    await run();
    expect(sim.counters(clusterId).power).toBe(0);
    expect((await apiVm(idle)).idle_shutdown_at).toBe(new Date(start + 10 * MINUTE).toISOString());
    expect((await apiVm(keptRunning)).idle_shutdown_at).toBe(new Date(start + 10 * MINUTE).toISOString());
    expect((await apiVm(busy)).idle_shutdown_at).toBeNull();
  });

  it('"keep running" removes the warning and restarts the idle clock', async () => {
    clock = start + 2 * MINUTE;
    const response = await world.request('POST', `/api/vms/${clusterId}/${keptRunning.vmid}/keep-running`, {
      token: world.tokens.studentA,
    });
    expect(response.status).toBe(200);
    expect((await apiVm(keptRunning)).idle_shutdown_at).toBeNull();
  });

  it('keeps the warning (no shutdown) until its time', async () => {
    clock = start + 5 * MINUTE;
    await run();
    expect(sim.counters(clusterId).power).toBe(0);
    expect(sim.guest(clusterId, idle.vmid)?.status).toBe('running');
  });

  it('then shuts the idle VM down, sparing the busy one and the one kept running', async () => {
    clock = start + 11 * MINUTE;
    await run();
    expect(sim.guest(clusterId, idle.vmid)?.status).toBe('stopped');
    expect(sim.guest(clusterId, busy.vmid)?.status).toBe('running');
    expect(sim.guest(clusterId, keptRunning.vmid)?.status).toBe('running');
    expect(sim.counters(clusterId).power).toBe(1);
    expect((await apiVm(idle)).idle_shutdown_at).toBeNull();
    const entries = await auditOf(CLASS);
    expect(entries.map((e) => [e.action, e.target.vmid, e.result])).toEqual([
      ['idleShutdown', idle.vmid, 'success'],
    ]);
  });
});

describe('a scheduled shutdown that fails', () => {
  const CLASS = 'failing';
  let target: GroundTruthGuest;
  let fireAt: number;

  beforeAll(async () => {
    target = guests[5] as GroundTruthGuest;
    await linkClass(CLASS, [target]);
    fireAt = Math.ceil(clock / MINUTE) * MINUTE + 3 * MINUTE;
    const fire = new Date(fireAt);
    const response = await world.request('PUT', `/api/classes/${CLASS}/schedule`, {
      token: world.tokens.teacher,
      body: { timezone: 'UTC', shutdown_cron: `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *` },
    });
    expect(response.status, await response.clone().text()).toBe(200);
  });

  afterAll(() => sim.faults.reset());

  it('raises one action_failed alert, on the status-line sink and in the audit trail; the run goes on', async () => {
    const before = alerts.length;
    sim.faults.setErrorRate(clusterId, 'power', 1, 500);
    clock = fireAt + MINUTE;
    const output = await run();
    expect(output.classes.find((c) => c.class_id === CLASS)).toMatchObject({
      evaluated: true,
      shut_down: 0,
      failed: 1,
    });
    expect(sim.guest(clusterId, target.vmid)?.status).toBe('running');
    const mine = alerts.slice(before).filter((alert) => alert.details.class_id === CLASS);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      kind: 'action_failed',
      subject: `Scheduled shutdown failed: VM ${clusterId}/${target.vmid} (1 failed)`,
      details: {
        source: 'schedule',
        action: 'shutdown',
        class_id: CLASS,
        cluster_id: clusterId,
        vmid: target.vmid,
        failed: 1,
        reference: `${CLASS}@${clock}:scheduledShutdown`,
      },
    });
    const page = await world.deps.audit?.listAudit({ classId: CLASS, actor: 'system' }, 10);
    expect(page?.entries.map((e) => [e.action, e.target.vmid, e.target.operation, e.result])).toEqual([
      ['alert.action_failed', target.vmid, 'action_failed', 'failed'],
    ]);
    // the VM's own audit entry tells what Proxmox answered
    expect((await auditOf(CLASS)).map((e) => [e.action, e.result, e.error_code])).toEqual([
      ['scheduledShutdown', 'refused', 'action_failed'],
    ]);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#local/stack/index.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import {
  SyncHealthResponseSchema,
  SyncStatsResponseSchema,
  TriggerSyncResponseSchema,
} from '#shared/http/schemas/sync.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';

/**
 * The whole system in process, as a new user meets it: DynamoDB Local (the run's), the simulator,
 * the synthesized state machines on short schedules with the real handlers, the local gateway with
 * the real route table and JWT checks, the demo ownership and tokens.
 */

let stack: LocalStack;
let dataDir: string;
const probeBase = 20_000 + Math.floor(Math.random() * 20_000);

const keyOf = (vm: { cluster_id: string; vmid: number }) => `${vm.cluster_id}/${vm.vmid}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

function token(user: string): string {
  const value = stack.tokens[user];
  if (value === undefined) throw new Error(`no token for ${user}`);
  return value;
}

async function listVms(user: string, query = ''): Promise<ApiVm[]> {
  const vms: ApiVm[] = [];
  let cursor: string | null = null;
  do {
    const suffix: string = `limit=2000${cursor === null ? '' : `&cursor=${cursor}`}${query}`;
    const answer = await call(token(user), 'GET', `/api/vms?${suffix}`);
    expect(answer.status).toBe(200);
    const page = ListVmsResponseSchema.parse(answer.body);
    vms.push(...page.vms);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return vms;
}

async function health() {
  const answer = await call(null, 'GET', '/api/sync/health');
  return { status: answer.status, ...SyncHealthResponseSchema.parse(answer.body) };
}

/** Polls until `check` passes (assertions inside), failing with its last error after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pve-e2e-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `e2e-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 40,
      seed: 5,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
      taskDelayMs: 1_500,
    },
    fullIntervalMs: 600_000,
    quickIntervalMs: 1_000,
    staleAfterMs: 5_000,
    healthMaxConsecutiveErrors: 1,
    logLevel: 'SILENT',
    publishState: false,
    // The longest accepted wait, so that the action confirms its 1.5 s task itself even on a busy machine.
    environment: { ACTION_WAIT_SECONDS: '10' },
  });
  await stack.firstSync;
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the local stack, end to end', () => {
  it('serves the first complete inventory after the first sync, and is healthy', async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    const expected = simulator.clusters.flatMap((c) =>
      simulator.groundTruth(c.id).map((g) => `${c.id}/${g.vmid}`),
    );
    const vms = await listVms('admin');
    expect(new Set(vms.map(keyOf))).toEqual(new Set(expected));
    // Health also asks for a quick pass inside the 5 s cutoff: on a busy machine the first full sync can
    // take longer than that, and the first quick pass after it then makes the stack healthy.
    await eventually(async () => expect((await health()).healthy).toBe(true));
  });

  it('shows each student only their own VMs, even for a VMID that exists on both clusters', async () => {
    const demo = stack.demo;
    if (demo === null || demo.sharedVmid === null) throw new Error('no demo ownership');
    const owned = (user: string) => new Set(demo.vms.filter((v) => v.username === user).map(keyOf));
    const alice = new Set((await listVms('alice')).map(keyOf));
    const bob = new Set((await listVms('bob')).map(keyOf));
    expect(alice).toEqual(owned('alice'));
    expect(bob).toEqual(owned('bob'));
    for (const key of alice) expect(bob.has(key)).toBe(false);
    expect(alice.has(`sim-1/${demo.sharedVmid}`)).toBe(true);
    expect(bob.has(`sim-2/${demo.sharedVmid}`)).toBe(true);
    expect(bob.has(`sim-1/${demo.sharedVmid}`)).toBe(false);
    expect((await call(token('bob'), 'GET', `/api/vms/sim-1/${demo.sharedVmid}`)).status).toBe(404);
  });

  it('refreshes live on request (force_refresh) through the local sync, still filtered to the caller', async () => {
    const owned = stack.demo?.vms.filter((v) => v.username === 'alice').map(keyOf) ?? [];
    // A refresh that could not read every address before its deadline (a loaded machine) or that
    // met another one answers from the table and says why; it is asked again until one is live.
    await eventually(async () => {
      const answer = await call(token('alice'), 'GET', '/api/vms?force_refresh=true');
      expect(answer.status).toBe(200);
      const page = ListVmsResponseSchema.parse(answer.body);
      expect(new Set(page.vms.map(keyOf))).toEqual(new Set(owned));
      if (page.mode !== 'live') {
        const reports = page.refresh?.clusters ?? [];
        expect(reports.length).toBeGreaterThan(0);
        for (const report of reports) if (report.outcome !== 'refreshed') expect(report.reason).toBeTruthy();
      }
      expect(page.mode).toBe('live');
      expect(page.stale).toBe(false);
    });
  });

  it('refuses requests without a valid token', async () => {
    expect((await call(null, 'GET', '/api/vms')).status).toBe(401);
    expect((await call('not-a-token', 'GET', '/api/vms')).status).toBe(401);
  });

  it('lets alice start her VM: pending at once, then running, confirmed by the action itself', async () => {
    const target = stack.demo?.aliceStartable;
    if (!target) throw new Error('no startable VM for alice');
    const find = async () => (await listVms('alice')).find((vm) => keyOf(vm) === keyOf(target));
    expect((await find())?.status).toBe('stopped');
    const action = call(token('alice'), 'POST', `/api/vm/${target.vmid}/start?cluster=${target.cluster_id}`);
    const pending = await eventually(async () => {
      const vm = await find();
      expect(vm?.pending_action).toBe('start');
      return vm;
    }, 15_000);
    expect(pending?.pending_action).toBe('start');
    const answer = await action;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      ok: true,
      cluster_id: target.cluster_id,
      vmid: target.vmid,
      status: 'running',
      pending_action: null,
    });
    const after = await find();
    expect(after).toMatchObject({ status: 'running', pending_action: null });
  });

  it('lets the admin trigger a sync (and only the admin)', async () => {
    expect((await call(token('bob'), 'POST', '/api/sync/trigger', { mode: 'full' })).status).toBe(403);
    const triggeredAt = Math.floor(Date.now() / 1000);
    const answer = await call(token('admin'), 'POST', '/api/sync/trigger', { mode: 'full' });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ mode: 'full', started: true });
    await eventually(async () => {
      const stats = SyncStatsResponseSchema.parse(
        (await call(token('admin'), 'GET', '/api/sync/stats')).body,
      );
      expect(stats.clusters).toHaveLength(2);
      for (const cluster of stats.clusters)
        expect(cluster.last_full_sync ?? 0).toBeGreaterThanOrEqual(triggeredAt - 1);
      const last = stack.runner.status().lastFull;
      expect(last?.name).toBe(TriggerSyncResponseSchema.parse(answer.body).execution_name);
      expect(last).toMatchObject({ error: null, result: { clusters: 2, ok: 2, failed: 0 } });
    });
  });

  it('keeps a down cluster listed and stale, the other fresh, turns unhealthy and recovers', async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    simulator.faults.setClusterDown('sim-2', true);
    await eventually(async () => {
      const h = await health();
      expect(h.status).toBe(503);
      expect(h.healthy).toBe(false);
      expect(h.issues.join(' ')).toContain('sim-2');
    });
    const vms = await eventually(async () => {
      const all = await listVms('admin');
      const down = all.filter((vm) => vm.cluster_id === 'sim-2');
      const up = all.filter((vm) => vm.cluster_id === 'sim-1');
      expect(down).toHaveLength(simulator.groundTruth('sim-2').length);
      expect(down.every((vm) => vm.stale)).toBe(true);
      expect(up).toHaveLength(simulator.groundTruth('sim-1').length);
      expect(up.every((vm) => !vm.stale)).toBe(true);
      return all;
    });
    expect(vms.length).toBeGreaterThan(0);
    simulator.faults.setClusterDown('sim-2', false);
    // The failed cluster backs off before its next attempt: recovery takes one backoff period.
    await eventually(async () => {
      const h = await health();
      expect(h.status).toBe(200);
      expect(h.healthy).toBe(true);
    }, 90_000);
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createVmHistoryHandler } from '#functions/api/vm-history.ts';
import { type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import type { ApiDependencies } from '#shared/api/dependencies.ts';
import { DEFAULT_REALM_SUFFIXES } from '#shared/auth/usernames.ts';
import { DEFAULT_STALE_AFTER_MS } from '#shared/domain/staleness.ts';
import { routeList } from '#shared/http/routes.ts';
import { type VmHistoryResponse, VmHistoryResponseSchema } from '#shared/http/schemas/history.ts';
import { createTestIssuer, TEST_AUDIENCE, testUserTokens } from '../../helpers/tokens.ts';
import { type SyncHarness, startSyncHarness } from '../sync/harness.ts';

/**
 * GET /api/vms/{cluster}/{vmid}/history on history that real quick passes wrote (DynamoDB Local +
 * simulator), through the local gateway with real tokens. alice owns sim-1:X and, through class
 * `hist` (teacher carol), sim-1:Y; bob owns sim-2:X — the same VMID on the other cluster.
 */

let h: SyncHarness;
let gateway: LocalGateway;
let tokens: Awaited<ReturnType<typeof testUserTokens>>;
let own = 0;
let classVm = 0;
let start = 0;

const runningOn = (h: SyncHarness, cluster: string) =>
  new Set(
    h.sim
      .groundTruth(cluster)
      .filter((g) => g.status === 'running' && !g.template)
      .map((g) => g.vmid),
  );

beforeAll(async () => {
  h = await startSyncHarness('vm-history-api', { guestsPerCluster: 20, drift: false });
  for (const cluster of h.sim.clusters) {
    expect((await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' })).summary.ok).toBe(
      true,
    );
  }
  const one = runningOn(h, 'sim-1');
  const two = runningOn(h, 'sim-2');
  const both = [...one].filter((vmid) => two.has(vmid));
  own = both[0] ?? 0;
  classVm = [...one].find((vmid) => vmid !== own) ?? 0;
  if (own === 0 || classVm === 0) throw new Error('the simulated clusters have too few running guests');

  // Three minutes of quick passes every 30 s on both clusters, from 5 s into a minute.
  await h.tick(60_000 - (h.clock.now % 60_000) + 5_000);
  start = h.clock.now - 5_000;
  for (let pass = 0; pass < 6; pass++) {
    for (const cluster of h.sim.clusters) {
      expect(
        (await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' })).summary.ok,
      ).toBe(true);
    }
    await h.tick(30_000);
  }

  const { ownership } = h.repositories;
  const at = h.clock.now;
  await ownership.putAssignment({
    username: 'alice',
    cluster_id: 'sim-1',
    vmid: own,
    source: 'admin',
    created_at: at,
  });
  await ownership.putAssignment({
    username: 'bob',
    cluster_id: 'sim-2',
    vmid: own,
    source: 'admin',
    created_at: at,
  });
  await ownership.putClass({ class_id: 'hist', name: 'History', owner: 'carol', created_at: at });
  await ownership.addClassMember('hist', 'carol', 'teacher');
  await ownership.addClassMember('hist', 'alice', 'student');
  await ownership.assignClassVm('hist', { cluster_id: 'sim-1', vmid: classVm }, 'alice', at);

  const deps: ApiDependencies = {
    repositories: h.repositories,
    settings: {
      staleAfterMs: DEFAULT_STALE_AFTER_MS,
      quickSyncIntervalMs: 30_000,
      healthMaxSyncAgeMs: 600_000,
      healthMaxConsecutiveErrors: 5,
    },
    usernames: { realmSuffixes: DEFAULT_REALM_SUFFIXES },
    now: () => h.clock.now,
  };
  const issuer = await createTestIssuer();
  tokens = await testUserTokens(issuer);
  gateway = await startLocalGateway({
    port: 0,
    routes: routeList,
    issuer,
    audience: TEST_AUDIENCE,
    handlers: { getVmHistory: createVmHistoryHandler(() => deps) },
  });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await h?.close();
});

async function history(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** The values the quick pass stored for a VM (drift is off: every minute saw the same). */
async function observed(cluster: string, vmid: number): Promise<{ cpu: number; mem: number }> {
  const runtime = await h.repositories.syncState.readRuntime(cluster);
  for (const node of runtime.values()) {
    const sample = node.stats.get(vmid);
    if (sample) return { cpu: sample.cpu_usage, mem: sample.memory_usage };
  }
  throw new Error(`no runtime stats for ${cluster}:${vmid}`);
}

const minutes = () => Array.from({ length: 3 }, (_, i) => new Date(start + i * 60_000).toISOString());

describe('GET /api/vms/{cluster}/{vmid}/history', () => {
  it("answers the owner with the VM's minutes as the quick passes observed them", async () => {
    const result = await history(`/api/vms/sim-1/${own}/history?range=1h`, tokens.studentA);
    expect(result.status).toBe(200);
    const body: VmHistoryResponse = VmHistoryResponseSchema.parse(result.body);
    const { cpu, mem } = await observed('sim-1', own);
    expect(body).toMatchObject({
      cluster_id: 'sim-1',
      vmid: own,
      range: '1h',
      resolution_seconds: 60,
      sync_error: null,
    });
    expect(body.samples.map((s) => s.t)).toEqual(minutes());
    for (const s of body.samples)
      expect(s).toEqual({ t: s.t, cpu_avg: cpu, cpu_max: cpu, mem_avg: mem, mem_max: mem });
  });

  it("answers bob for his VM of the same VMID on the other cluster with that cluster's values", async () => {
    const result = await history(`/api/vms/sim-2/${own}/history?range=24h`, tokens.studentB);
    expect(result.status).toBe(200);
    const body = VmHistoryResponseSchema.parse(result.body);
    const { cpu, mem } = await observed('sim-2', own);
    expect(body.samples.map((s) => [s.t, s.cpu_avg, s.mem_avg])).toEqual(minutes().map((t) => [t, cpu, mem]));
  });

  it('refuses bob, and the teacher, a VM that is not theirs, as if it did not exist', async () => {
    for (const [path, token] of [
      [`/api/vms/sim-1/${own}/history`, tokens.studentB],
      [`/api/vms/sim-1/${own}/history`, tokens.teacher],
      [`/api/vms/sim-2/${own}/history`, tokens.studentA],
      [`/api/vms/sim-1/99999/history`, tokens.admin],
    ] as const) {
      const result = await history(path, token);
      expect(result.status, path).toBe(404);
      expect(result.body).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('answers the class teacher and an admin for the class VM', async () => {
    for (const token of [tokens.teacher, tokens.admin, tokens.studentA]) {
      const result = await history(`/api/vms/sim-1/${classVm}/history?range=1h`, token);
      expect(result.status).toBe(200);
      expect(VmHistoryResponseSchema.parse(result.body).samples).toHaveLength(3);
    }
  });

  it('serves 14d from the quarter-hour buckets', async () => {
    const result = await history(`/api/vms/sim-1/${own}/history?range=14d`, tokens.admin);
    expect(result.status).toBe(200);
    const body = VmHistoryResponseSchema.parse(result.body);
    expect(body.resolution_seconds).toBe(900);
    expect(Date.parse(body.to) - Date.parse(body.from)).toBeLessThanOrEqual(14 * 24 * 3600_000);
    for (const s of body.samples) expect(Date.parse(s.t) % 900_000).toBe(0);
  });

  it('names the range in a 400 for a range it does not serve', async () => {
    const result = await history(`/api/vms/sim-1/${own}/history?range=7d`, tokens.admin);
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({
      error: { code: 'bad_request', details: [{ field: 'query.range' }] },
    });
  });
});

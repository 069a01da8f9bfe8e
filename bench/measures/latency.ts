import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Pool } from 'undici';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { startLocalGateway } from '#local/gateway/server.ts';
import { readCacheFromEnv } from '#shared/api/read-cache.ts';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { routes } from '#shared/http/routes.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import { type LiveListResult, requestTimeList, type VmScope } from '../baselines/live-list.ts';
import type { CapacityMeter } from '../harness/dynamo.ts';
import type { BenchFleet } from '../harness/fleet.ts';
import { runClosedLoop } from '../lib/load.ts';
import { type SampleSummary, summarize } from '../lib/stats.ts';

/**
 * Measurement 1: GET /api/vms through the local gateway (JWT check, payload 2.0 event, the real
 * handler and its middleware) against DynamoDB Local, next to the original portal's request-time
 * list against the simulator with modelled latencies — same users, same fleet, same run.
 */

export type UserKind = 'student' | 'admin';

/** One cell: a fleet size, a user, a concurrency, both sides. */
export interface LatencyCell {
  guests: number;
  user: UserKind;
  concurrency: number;
  inventory: SampleSummary & { errors: number; vms: number };
  live: (SampleSummary & { errors: number; vms: number }) | null;
  /** live p50 ÷ inventory p50, live p99 ÷ inventory p99 */
  speedupP50: number | null;
  speedupP99: number | null;
}

/** Response sizes of the admin list (first page). */
export interface ListSizes {
  vms: number;
  gzipBytes: number;
  uncompressedBytes: number;
  /** Read units one list request consumed (DynamoDB's figure). */
  rcuPerRequest: number;
}

/** Sample counts of one run. */
export interface LatencyPlan {
  /** Unmeasured requests per user first (module loading, JIT, connections). */
  warmup: number;
  /** Requests per user timed for the breakdown (handler, DynamoDB). */
  breakdownRequests: number;
  inventoryRequests: number;
  liveRequests: Record<UserKind, number>;
  concurrencies: number[];
  /** Skip the baseline at these user/concurrency cells (too slow to sample). */
  skipLive?: (user: UserKind, concurrency: number) => boolean;
}

/** Result of one fleet's latency measurement. */
export interface LatencyResult {
  cells: LatencyCell[];
  sizes: ListSizes;
  /** Mean admin list latency at concurrency 1 (ms), gateway included: an upper bound of the Lambda duration. */
  handlerMeanMs: number;
  /** Where the time of a concurrency-1 request goes (means, ms): handler (in process) and DynamoDB in flight. */
  breakdown: Record<
    UserKind,
    { endToEndMs: number; handlerMs: number; dynamoMs: number; dynamoRequests: number }
  >;
  /**
   * The admin list (concurrency 1) right after every cluster's `inventory_version` moved, as after a
   * quick pass that changed a guest in each: with the read cache, its miss path (each cluster read whole).
   */
  adminAfterWrite: SampleSummary & { dynamoRequests: number };
}

/** The VMs given to the benchmark student: 20 guests spread over the clusters. */
export function studentVms(fleet: BenchFleet, count = 20): { cluster_id: string; vmid: number }[] {
  const perCluster = fleet.clusters.map((c) =>
    fleet.sim
      .groundTruth(c.id)
      .filter((g) => !g.template)
      .map((g) => ({ cluster_id: c.id, vmid: g.vmid })),
  );
  const picked: { cluster_id: string; vmid: number }[] = [];
  for (let i = 0; picked.length < count; i += 1) {
    let added = false;
    for (const list of perCluster) {
      const vm = list[i];
      if (vm !== undefined && picked.length < count) {
        picked.push(vm);
        added = true;
      }
    }
    if (!added) break;
  }
  return picked;
}

/** Measures both sides for one synced fleet. */
export async function measureLatency(input: {
  fleet: BenchFleet;
  documentClient: DynamoDBDocumentClient;
  meter: CapacityMeter;
  tables: TableNames;
  /** The sync's clock offset, so the API judges staleness on the same clock. */
  clockOffsetMs: number;
  plan: LatencyPlan;
  log: (line: string) => void;
}): Promise<LatencyResult> {
  const { fleet, plan, log } = input;
  const totalGuests = fleet.clusters.reduce((s, c) => s + fleet.sim.groundTruth(c.id).length, 0);
  const repositories = createDynamoDbRepositories(input.documentClient, input.tables);
  const owned = studentVms(fleet);
  const now = Date.now();
  await repositories.ownership.putAssignments(
    owned.map((k) => ({
      username: 'student1',
      cluster_id: k.cluster_id,
      vmid: k.vmid,
      source: 'admin',
      created_at: now,
    })),
  );
  const handlerTimes: number[] = [];
  const benchNow = () => Date.now() + input.clockOffsetMs;
  // As deployed: the read cache on unless READ_CACHE_MAX_AGE_SECONDS=0 (for a run without it).
  const readCache = readCacheFromEnv(process.env, benchNow);
  const realHandler = createListVmsHandler(() => ({
    repositories,
    settings: apiSettingsFromEnv({}),
    usernames: identityOptionsFromEnv({}),
    now: benchNow,
    ...(readCache === undefined ? {} : { readCache }),
  }));
  // The handler timed in process: the rest of a request is the gateway (JWT, event) and HTTP.
  const listVms = async (
    ...args: Parameters<typeof realHandler>
  ): Promise<Awaited<ReturnType<typeof realHandler>>> => {
    const [event, context] = args;
    const t0 = performance.now();
    try {
      return await realHandler(event, context);
    } finally {
      handlerTimes.push(performance.now() - t0);
    }
  };
  const issuer = await createLocalIssuer();
  const gateway = await startLocalGateway({
    port: 0,
    routes: [routes.listVms],
    handlers: { [routes.listVms.id]: listVms },
    issuer,
    audience: issuer.clientId,
  });
  const tokens: Record<UserKind, string> = {
    student: await issuer.issueToken('student1', { expiresIn: 7200 }),
    admin: await issuer.issueToken('admin1', { groups: ['admins'], expiresIn: 7200 }),
  };
  const pool = new Pool(gateway.url, { connections: 32, pipelining: 1 });
  const get = async (user: UserKind, gzip = true): Promise<{ bytes: number; body: Buffer }> => {
    const res = await pool.request({
      path: '/api/vms',
      method: 'GET',
      headers: { authorization: `Bearer ${tokens[user]}`, ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200)
      throw new Error(`GET /api/vms answered ${res.statusCode}: ${body.toString().slice(0, 200)}`);
    const text = res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
    return { bytes: body.length, body: text };
  };
  const countVms = (body: Buffer): number => {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'vms' in parsed && Array.isArray(parsed.vms))
      return parsed.vms.length;
    return 0;
  };

  const clients = fleet.clusters.map((c) => fleet.client(c.id));
  const scopes: Record<UserKind, VmScope> = {
    student: new Set(owned.map((k) => `${k.cluster_id}:${k.vmid}`)),
    admin: undefined,
  };
  try {
    // Warm up both sides (module loading, JIT, connection pools) before sampling.
    for (let i = 0; i < plan.warmup; i += 1) {
      await get('student');
      await get('admin');
    }
    await requestTimeList(clients, scopes.student);

    input.meter.reset();
    const gz = await get('admin', true);
    const rcuPerRequest = input.meter.totals().rcu;
    const plain = await get('admin', false);
    const sizes: ListSizes = {
      vms: countVms(gz.body),
      gzipBytes: gz.bytes,
      uncompressedBytes: plain.bytes,
      rcuPerRequest,
    };

    const timeUser = async (user: UserKind): Promise<LatencyResult['breakdown'][UserKind]> => {
      handlerTimes.length = 0;
      input.meter.reset();
      const n = plan.breakdownRequests;
      const t0 = performance.now();
      for (let i = 0; i < n; i += 1) await get(user);
      const endToEndMs = (performance.now() - t0) / n;
      const t = input.meter.totals();
      const figures = {
        endToEndMs,
        handlerMs: handlerTimes.reduce((s, x) => s + x, 0) / Math.max(1, handlerTimes.length),
        dynamoMs: t.busyMs / n,
        dynamoRequests: t.readRequests / n,
      };
      log(
        `  ${user}: ${endToEndMs.toFixed(1)} ms per request, handler ${figures.handlerMs.toFixed(1)} ms, DynamoDB in flight ${figures.dynamoMs.toFixed(1)} ms (${figures.dynamoRequests.toFixed(1)} requests)`,
      );
      return figures;
    };
    const breakdown: LatencyResult['breakdown'] = {
      student: await timeUser('student'),
      admin: await timeUser('admin'),
    };

    const afterWrite: number[] = [];
    input.meter.reset();
    for (let i = 0; i < plan.breakdownRequests; i += 1) {
      for (const cluster of fleet.clusters) await repositories.syncState.bumpInventoryVersion(cluster.id);
      const t0 = performance.now();
      await get('admin');
      afterWrite.push(performance.now() - t0);
    }
    const adminAfterWrite = {
      ...summarize(afterWrite),
      // the versions bumps are writes: only the list's reads are counted
      dynamoRequests: input.meter.totals().readRequests / Math.max(1, plan.breakdownRequests),
    };
    log(
      `  admin after every cluster's version moved: p50 ${adminAfterWrite.p50.toFixed(1)} ms, p99 ${adminAfterWrite.p99.toFixed(1)} ms (${adminAfterWrite.dynamoRequests.toFixed(1)} requests)`,
    );

    const cells: LatencyCell[] = [];
    let handlerMeanMs = 0;
    for (const user of ['student', 'admin'] as const) {
      const vms = countVms((await get(user)).body);
      for (const concurrency of plan.concurrencies) {
        const inv = await runClosedLoop(plan.inventoryRequests, concurrency, async () => {
          await get(user);
        });
        const invSummary = { ...summarize(inv.latenciesMs), errors: inv.errors, vms };
        if (user === 'admin' && concurrency === 1) handlerMeanMs = invSummary.mean;
        log(
          `  inventory ${totalGuests} guests ${user} c${concurrency}: p50 ${invSummary.p50.toFixed(1)} ms, p99 ${invSummary.p99.toFixed(1)} ms (n=${invSummary.n}, errors ${inv.errors})`,
        );
        let live: LatencyCell['live'] = null;
        if (!(plan.skipLive?.(user, concurrency) ?? false)) {
          let liveVms = 0;
          const n = plan.liveRequests[user];
          const res = await runClosedLoop(n, concurrency, async () => {
            const r: LiveListResult = await requestTimeList(clients, scopes[user]);
            liveVms = r.vms;
          });
          if (res.latenciesMs.length > 0) {
            live = { ...summarize(res.latenciesMs), errors: res.errors, vms: liveVms };
            log(
              `  live      ${totalGuests} guests ${user} c${concurrency}: p50 ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms (n=${live.n}, errors ${res.errors})`,
            );
          } else {
            log(`  live ${user} c${concurrency}: every request failed (${res.errorSamples.join('; ')})`);
          }
        }
        cells.push({
          guests: totalGuests,
          user,
          concurrency,
          inventory: invSummary,
          live,
          speedupP50: live === null ? null : live.p50 / invSummary.p50,
          speedupP99: live === null ? null : live.p99 / invSummary.p99,
        });
      }
    }
    return { cells, sizes, handlerMeanMs, breakdown, adminAfterWrite };
  } finally {
    await pool.close();
    await gateway.close();
  }
}

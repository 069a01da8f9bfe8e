/**
 * Where the time of one warm admin list goes: `npx tsx bench/profile-list.ts [--guests=1000]`.
 *
 * Seeds DynamoDB Local (started here, in memory, on loopback) with `guests` VMs over 10 clusters,
 * their runtime chunks and versioned cluster states, then times, in process and one after the
 * other, each stage a warm GET /api/vms runs: the gateway's JWT check, the handler's versions read,
 * the page from the read cache, serialization, gzip, base64 and the gateway's decode, and finally
 * the whole handler alone and the whole request through the local gateway. Medians of `--n` runs
 * (default 60) after a warm-up; CPU stages are less sensitive to the machine's load than the
 * end-to-end figures.
 */
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync, constants as zlib } from 'node:zlib';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Pool } from 'undici';
import { createListVmsHandler } from '#functions/api/list-vms.ts';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { buildHttpApiEvent, newRequestId } from '#local/gateway/event.ts';
import { createJwtAuthorizer } from '#local/gateway/jwt-authorizer.ts';
import { createLambdaContext, integrationResponse, startLocalGateway } from '#local/gateway/server.ts';
import { versionBasis } from '#shared/api/list-etag.ts';
import { listVmsPage } from '#shared/api/list-vms.ts';
import { InventoryReadCache } from '#shared/api/read-cache.ts';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import type { NewStoredVm } from '#shared/domain/vm-record.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import * as response from '#shared/http/response.ts';
import { routes } from '#shared/http/routes.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import { startBenchDynamo } from './harness/dynamo.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const arg = (name: string, fallback: number): number => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`));
  return raw === undefined ? fallback : Number(raw.split('=')[1]);
};
const GUESTS = arg('guests', 1000);
/** The serializer's gzip level (6 before it depended on the size). */
const gzipLevelFor: (bytes: number) => number =
  'gzipLevelFor' in response && typeof response.gzipLevelFor === 'function' ? response.gzipLevelFor : () => 6;
const N = arg('n', 60);
const CLUSTERS = 10;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const timeSync = (fn: () => unknown): number => {
  const times: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const t0 = performance.now();
    fn();
    if (i >= 5) times.push(performance.now() - t0);
  }
  return median(times);
};
const timeAsync = async (fn: () => Promise<unknown>): Promise<number> => {
  const times: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const t0 = performance.now();
    await fn();
    if (i >= 5) times.push(performance.now() - t0);
  }
  return median(times);
};

const dynamo = await startBenchDynamo();
try {
  const tables = await dynamo.createTableSet('profile');
  const repositories = createDynamoDbRepositories(dynamo.documentClient, tables);
  const now = Date.now();
  const perCluster = Math.ceil(GUESTS / CLUSTERS);
  const nodes = ['pve1', 'pve2', 'pve3'];
  for (let c = 0; c < CLUSTERS; c++) {
    const clusterId = `lab-${String(c).padStart(2, '0')}`;
    const items: NewStoredVm[] = [];
    for (let i = 0; i < perCluster; i++) {
      const vmid = 100 + i;
      items.push({
        cluster_id: clusterId,
        vmid,
        cluster_name: `Lab ${c}`,
        name: `${i % 3 === 0 ? 'win' : 'lnx'}-student-${String(i).padStart(3, '0')}`,
        node: nodes[i % 3] ?? 'pve1',
        type: 'qemu',
        category: i % 3 === 0 ? 'windows' : 'linux',
        status: i % 4 === 0 ? 'stopped' : 'running',
        ip: `10.${c}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        mac: `BC:24:11:${c.toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        memory: 4096,
        cores: 2,
        disk_size: 34_359_738_368,
        is_template: false,
        tag_list: i % 5 === 0 ? ['exam', 'lab'] : ['lab'],
        pool: 'students',
        boot_time: now - 3_600_000 - i * 1000,
        last_updated: now - 60_000,
        observed_at: now - 20_000,
        rdp_available: i % 3 === 0,
        ssh_available: i % 3 !== 0,
      });
    }
    await repositories.inventory.batchPut(items);
    for (const node of nodes) {
      const stats = new Map(
        items
          .filter((vm) => vm.node === node && vm.status === 'running')
          .map((vm) => [vm.vmid, { cpu_usage: (vm.vmid % 97) / 10, memory_usage: 40 + (vm.vmid % 50) }]),
      );
      await repositories.syncState.writeNodeRuntime({ clusterId, node, stats, observedAt: now - 20_000 });
    }
    const at = now - 20_000;
    await repositories.syncState.putClusterState({
      cluster_id: clusterId,
      cluster_name: `Lab ${c}`,
      last_quick_sync_at: at,
      last_full_sync_at: at,
      last_success_at: at,
      last_attempt_at: at,
      consecutive_errors: 0,
      nodes: Object.fromEntries(
        nodes.map((node) => [node, { online: true, last_seen_at: at, last_online_at: at, runtime_at: at }]),
      ),
      counts: {
        total: perCluster,
        running: items.filter((v) => v.status === 'running').length,
        error: 0,
        templates: 0,
      },
      updated_at: at,
    });
    await repositories.syncState.bumpInventoryVersion(clusterId);
  }

  const settings = apiSettingsFromEnv({});
  const cache = new InventoryReadCache({ now: Date.now });
  const handler = createListVmsHandler(() => ({
    repositories,
    settings,
    usernames: identityOptionsFromEnv({}),
    now: Date.now,
    readCache: cache,
  }));
  const issuer = await createLocalIssuer();
  const token = await issuer.issueToken('admin1', { groups: ['admins'], expiresIn: 7200 });
  const authorize = createJwtAuthorizer({
    issuer: issuer.issuerUrl,
    audience: [issuer.clientId],
    jwks: issuer.jwks(),
  });
  const auth = await authorize(`Bearer ${token}`);
  if (!auth.ok) throw new Error('token refused');
  const event = (): APIGatewayProxyEventV2 =>
    buildHttpApiEvent({
      method: 'GET',
      rawPath: '/api/vms',
      rawQueryString: '',
      headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' },
      body: Buffer.alloc(0),
      routeKey: 'GET /api/vms',
      sourceIp: '127.0.0.1',
      requestId: newRequestId(),
      jwt: { claims: auth.claims, scopes: auth.scopes },
    }) as APIGatewayProxyEventV2;
  const context = (): Context => createLambdaContext('ListVms', 'r', Date.now() + 30_000);
  for (let i = 0; i < 10; i++) await handler(event(), context());

  const rows: [string, number][] = [];
  rows.push(['gateway: JWT verify (RS256)', await timeAsync(() => authorize(`Bearer ${token}`))]);
  rows.push(['gateway: build payload 2.0 event', timeSync(event)]);
  rows.push([
    'handler: versions read (1 Query)',
    await timeAsync(() => repositories.syncState.readVersions()),
  ]);
  const { states } = await repositories.syncState.readVersions();
  rows.push([
    'handler: versions basis (ETag input)',
    timeSync(() =>
      versionBasis({
        caller: { username: 'admin1', roles: {} },
        query: {},
        staleAfterMs: settings.staleAfterMs,
        states,
        ownershipVersion: null,
        admin: true,
      }),
    ),
  ]);
  const pageOptions = {
    cache,
    filters: {},
    limit: 2000,
    nowMs: Date.now(),
    staleAfterMs: settings.staleAfterMs,
    clusterStates: states,
  };
  rows.push([
    'handler: page from the read cache (API VMs)',
    await timeAsync(() => listVmsPage(repositories, { all: true }, pageOptions)),
  ]);
  const result = await handler(event(), context());
  const bodyBuffer = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  const json = gunzipSync(bodyBuffer).toString('utf8');
  const parsed: unknown = JSON.parse(json);
  if (process.env.PROFILE_LIST_DUMP !== undefined)
    (await import('node:fs')).writeFileSync(process.env.PROFILE_LIST_DUMP, json);
  rows.push(['handler: JSON.stringify body', timeSync(() => JSON.stringify(parsed))]);
  const sizes: string[] = [];
  for (const level of [1, 2, 3, 4, 6]) {
    const gz = gzipSync(json, { level });
    sizes.push(`level ${level}: ${gz.length} B`);
    rows.push([
      `handler: gzip level ${level}`,
      timeSync(() => gzipSync(json, { level, strategy: zlib.Z_DEFAULT_STRATEGY })),
    ]);
  }
  rows.push([
    `handler: gzip level ${gzipLevelFor(Buffer.byteLength(json))} (chosen)`,
    timeSync(() => gzipSync(json, { level: gzipLevelFor(Buffer.byteLength(json)) })),
  ]);
  const gz = gzipSync(json, { level: gzipLevelFor(Buffer.byteLength(json)) });
  rows.push(['handler: base64 encode', timeSync(() => gz.toString('base64'))]);
  const b64 = gz.toString('base64');
  rows.push([
    'gateway: integration response (base64 decode)',
    timeSync(() => integrationResponse({ statusCode: 200, headers: {}, body: b64, isBase64Encoded: true })),
  ]);
  rows.push(['handler: whole (in process)', await timeAsync(() => handler(event(), context()))]);
  const cpuTimes: number[] = [];
  for (let i = 0; i < N; i++) {
    const before = process.cpuUsage();
    await handler(event(), context());
    const used = process.cpuUsage(before);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  rows.push(['handler: whole, CPU time of this process (DynamoDB Local not included)', median(cpuTimes)]);

  const gateway = await startLocalGateway({
    port: 0,
    routes: [routes.listVms],
    handlers: { [routes.listVms.id]: handler },
    issuer,
    audience: issuer.clientId,
  });
  const pool = new Pool(gateway.url, { connections: 1 });
  const get = async () => {
    const res = await pool.request({
      path: '/api/vms',
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' },
    });
    await res.body.arrayBuffer();
  };
  for (let i = 0; i < 5; i++) await get();
  rows.push(['through the local gateway (HTTP, end to end)', await timeAsync(get)]);
  await pool.close();
  await gateway.close();

  const { loadavg } = await import('node:os');
  console.log(
    `${GUESTS} guests, JSON ${Buffer.byteLength(json)} B; ${sizes.join(', ')}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; median of ${N}`,
  );
  for (const [name, ms] of rows) console.log(`${ms.toFixed(2).padStart(8)} ms  ${name}`);
} finally {
  await dynamo.stop();
}

import { createServer } from 'node:net';
import { type ClustersFile, parseClustersFile } from '#shared/config/clusters.ts';
import { createProxmoxClient } from '#shared/proxmox/client.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import type { ClusterRunMetrics, SyncMetricsSink } from '#shared/sync/metrics.ts';
import { createProxmoxConnector, type ProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { createSyncService, type EngineSyncService, type SyncServiceDeps } from '#shared/sync/service.ts';
import { type ExtraToken, type Simulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { createTestTables, type TestTables } from '../../helpers/dynamodb.ts';

/** A simulator, fresh tables and a sync service wired on them, for one test file. */
export interface SyncHarness {
  sim: Simulator;
  tables: TestTables;
  repositories: Repositories;
  clusters: ClustersFile;
  connector: ProxmoxConnector;
  service: EngineSyncService;
  metrics: ClusterRunMetrics[];
  /** The service's clock: tests move it to leave a backoff or to order observations. */
  clock: { now: number };
  /** Moves the service's clock and the simulator's together (uptime, drift, churn follow). */
  tick(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Short timeouts and no retries, so that the fault tests fail fast. */
const FAST_CLIENT = {
  timeouts: {
    resources: { headersMs: 1_500, bodyMs: 1_500 },
    cluster_status: { headersMs: 1_500, bodyMs: 1_500 },
    config: { headersMs: 1_500, bodyMs: 1_500 },
    agent: { headersMs: 1_500, bodyMs: 1_500 },
    interfaces: { headersMs: 1_500, bodyMs: 1_500 },
  },
  connectTimeoutMs: 1_000,
  retry: { retries: 0 },
  endpointCooldownMs: 0,
};

/** How the sync reaches the simulator, when not with its main token and pinned fingerprints. */
export interface HarnessAccess {
  /** Sync with this token (added to every cluster) instead of the simulator's main token. */
  token?: ExtraToken;
  /** Trust the clusters' CA (`tls.caPem`) instead of pinning each endpoint's fingerprint. */
  trustCa?: boolean;
}

/** A currently free loopback TCP port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Starts everything; the clock starts at the real time and only moves when a test moves it.
 * Probe ports are picked free per harness: other simulators on this machine use the same seed,
 * hence the same guest IPs, and would hold the default ports.
 */
export async function startSyncHarness(
  label: string,
  simOptions: SimulatorOptions = {},
  serviceOptions: Partial<SyncServiceDeps> = {},
  access: HarnessAccess = {},
): Promise<SyncHarness> {
  const probePorts = { rdp: await freePort(), ssh: await freePort() };
  const sim = await startSimulator({ guestsPerCluster: 40, drift: false, probePorts, ...simOptions });
  await sim.settled();
  const tables = await createTestTables(label);
  const clock = { now: Date.now() };
  const repositories = createDynamoDbRepositories(tables.documentClient, tables.names, {
    now: () => clock.now,
  });
  const raw = sim.clusterConfig();
  const token = access.token;
  if (token !== undefined) for (const c of sim.clusters) sim.addToken(c.id, token);
  const clusters = parseClustersFile(
    {
      clusters: raw.clusters.map((c, i) => ({
        ...c,
        ...(token === undefined ? {} : { tokenId: token.tokenId }),
        ...(access.trustCa === true
          ? { endpoints: c.endpoints.map((e) => ({ url: e.url })), tls: { caPem: sim.clusters[i]?.certPem } }
          : {}),
      })),
    },
    'simulator',
  );
  const secret = token?.secret ?? sim.clusters[0]?.tokenSecret ?? '';
  const connector = createProxmoxConnector({
    sources: { env: { PVE_SIM_TOKEN: secret } },
    now: () => clock.now,
    clientDeps: FAST_CLIENT,
    createClient: createProxmoxClient,
  });
  const metrics: ClusterRunMetrics[] = [];
  const sink: SyncMetricsSink = { publishClusterRun: (values) => metrics.push(values) };
  const service = createSyncService({
    clusters,
    repositories,
    connect: (cluster) => connector.connect(cluster),
    invalidate: (id) => connector.invalidate(id),
    now: () => clock.now,
    metrics: sink,
    probeTimeoutMs: 500,
    ...serviceOptions,
  });
  return {
    sim,
    tables,
    repositories,
    clusters,
    connector,
    service,
    metrics,
    clock,
    async tick(ms) {
      clock.now += ms;
      sim.advance(ms);
      await sim.settled();
    },
    async close() {
      await connector.close();
      await sim.stop();
      await tables.drop();
    },
  };
}

import { mkdir } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createLocalIssuer, type LocalIssuer } from '#local/auth/issuer.ts';
import { createOidcProvider, OIDC_BASE_PATH } from '#local/auth/oidc-provider.ts';
import {
  createTables,
  type DynamoDbLocal,
  localClientConfig,
  prefixedTableNames,
  startDynamoDbLocal,
} from '#local/dynamodb-local.ts';
import {
  createLiveSocketServer,
  type LiveAuthorizerHandler,
  type LiveSocketHandler,
} from '#local/gateway/live-socket.ts';
import { type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import { type StreamHandler, startStreamPoller } from '#local/live/stream-poller.ts';
import {
  DEMO_USERS,
  type DemoGuest,
  type DemoOwnershipPlan,
  planDemoOwnership,
  seedDemoOwnership,
} from '#local/seed/demo-ownership.ts';
import { createPortalSite } from '#local/web/portal-site.ts';
import type { Alert } from '#shared/alerts/alerts.ts';
import { bindLocalAlertSink } from '#shared/alerts/wiring.ts';
import { createDocumentClient } from '#shared/clients/dynamodb.ts';
import { cadenceEnvironment } from '#shared/config/cadence.ts';
import { type ClustersFile, loadClustersFile, parseClustersFile } from '#shared/config/clusters.ts';
import { DEFAULT_STALE_AFTER_MS } from '#shared/domain/staleness.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { routeList } from '#shared/http/routes.ts';
import { CLASS_SCHEDULES_PERIOD_MINUTES } from '#shared/schedules/class-schedule.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { Repositories } from '#shared/store/ports.ts';
import type { AllTableNames } from '#shared/store/table-design.ts';
import type { SyncMode } from '#shared/sync/contract.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { loadSyncDefinitions } from './definitions-cache.ts';
import { bindLocalPorts, type LocalPortBindings } from './local-ports.ts';
import { DEFAULT_DATA_DIR, dataPaths, PORTAL_DIST_DIR } from './paths.ts';
import { preflight } from './preflight.ts';
import { removeStackState, writeStackState } from './stack-state.ts';
import { type LambdaStyleHandler, LocalSyncRunner, taskHandlerFromLambda } from './sync-runner.ts';

/**
 * The whole system on one machine: DynamoDB Local, the Proxmox simulator (or real clusters), the
 * local API gateway with the real route table, JWT checks and handlers, the synthesized sync state
 * machines on schedule, the demo ownership and a token per demo user. Used by `npm start` and by
 * the end-to-end test. The handlers read their settings from `process.env` at module scope, as in
 * Lambda, so one process runs one local stack at a time.
 */

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** API port; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Address the API listens on. @default '127.0.0.1' */
  readonly host?: string;
  /** Data folder (DynamoDB data, issuer key, state file for the CLI). @default `.data/` */
  readonly dataDir?: string;
  /** Keep nothing: DynamoDB Local in memory. @default false */
  readonly inMemory?: boolean;
  /** Use this DynamoDB (e.g. the test run's DynamoDB Local) instead of starting one. */
  readonly dynamodbEndpoint?: string;
  /** Prefix of the table names (tests use a unique one). @default 'pve-inventory-' */
  readonly tablePrefix?: string;
  /** Real clusters from a clusters.json (contract 1) instead of the simulator. */
  readonly clustersFile?: string;
  /** Options of the demo fleet. @default 2 clusters × 100 guests, seed 1 */
  readonly simulator?: SimulatorOptions;
  /** Full sync period. @default 300000 */
  readonly fullIntervalMs?: number;
  /** Quick sync period. @default 30000 */
  readonly quickIntervalMs?: number;
  /** Run the schedules (the first full sync starts at once). @default true */
  readonly schedules?: boolean;
  /** Staleness cutoff of the API's staleness rule (whole seconds). @default the rule's 10 minutes */
  readonly staleAfterMs?: number;
  /** Health: consecutive errors of a cluster that make it unhealthy. @default the API's 5 */
  readonly healthMaxConsecutiveErrors?: number;
  /**
   * Seed the demo ownership and issue the demo users' tokens (not only the admin's).
   * @default true with the simulator, false with real clusters (`clustersFile`)
   */
  readonly seed?: boolean;
  /** Lifetime of the printed demo tokens. @default 30 days */
  readonly tokenTtlSeconds?: number;
  /** Powertools log level of the handlers. @default 'ERROR' */
  readonly logLevel?: string;
  /** Write the state file the CLI reads. @default true unless `port` is 0 */
  readonly publishState?: boolean;
  /** Receives the gateway's request lines and runner failures. */
  readonly log?: (line: string) => void;
  /** Receives a short line as each part comes up (e.g. for a progress display). */
  readonly onProgress?: (step: string) => void;
  /** Extra environment of the handlers (e.g. action wait times in tests). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Folder of the built portal served at `/`. @default web/dist */
  readonly portalDistDir?: string;
  /** Live updates (`ws://…/ws`): API Gateway's limits and the stream batching, shorter in tests. */
  readonly live?: LocalLiveOptions;
}

/** Settings of the local live updates. */
export interface LocalLiveOptions {
  /** @default 10 minutes */
  readonly idleTimeoutMs?: number;
  /** @default 2 hours */
  readonly maxDurationMs?: number;
  /** How often connections with an expired token are closed (the sweep). @default 60000 */
  readonly sweepIntervalMs?: number;
  /** Stream batching window. @default 1000 */
  readonly batchWindowMs?: number;
  /** Stream polling interval. @default 250 */
  readonly pollIntervalMs?: number;
  /** Called after each delivery to the notify handler (benchmarks count its invocations). */
  readonly onDelivered?: (records: number, failed: number) => void;
}

/** A running local stack. */
export interface LocalStack {
  /** e.g. http://127.0.0.1:8080 */
  readonly apiUrl: string;
  /** e.g. ws://127.0.0.1:8080/ws */
  readonly liveUrl: string;
  /** A long-lived ID token per demo user (admin, carol, alice, bob); only admin's without the demo. */
  readonly tokens: Readonly<Record<string, string>>;
  readonly issuer: LocalIssuer;
  /** The simulator, unless real clusters are configured. */
  readonly simulator: Simulator | undefined;
  readonly clusters: ClustersFile;
  readonly dynamodbEndpoint: string;
  readonly tableNames: AllTableNames;
  readonly repositories: Repositories;
  readonly runner: LocalSyncRunner;
  /** The demo ownership written (null when not seeded yet or disabled). */
  readonly demo: DemoOwnershipPlan | null;
  /** Settles when the first full sync (started at once) has ended. */
  readonly firstSync: Promise<void>;
  /** The admin alerts raised in this process, oldest first (also in the audit trail). */
  readonly alerts: readonly Alert[];
  /** Port bindings of the trigger and refresh (what was bound, what is missing). */
  readonly ports: LocalPortBindings;
  /** Runs a sync now through the state machine and waits for it. */
  sync(mode: SyncMode, clusterId?: string): Promise<void>;
  /** Stops everything started: schedules, gateway, simulator, DynamoDB Local; restores the environment. */
  stop(): Promise<void>;
}

/** A local stack is already running in this process (the handlers' module-scope settings are per process). */
export class LocalStackAlreadyRunningError extends Error {
  override readonly name = 'LocalStackAlreadyRunningError';
}

let active = false;

/** Environment variables the handlers read, for a stack on `endpoint` with `tables`. */
export function handlerEnvironment(input: {
  dynamodbEndpoint: string;
  tables: AllTableNames;
  clustersJson: string;
  simulatorTokenSecret?: string;
  staleAfterMs?: number;
  quickIntervalMs: number;
  fullIntervalMs: number;
  healthMaxConsecutiveErrors?: number;
  logLevel: string;
}): Record<string, string> {
  return {
    DYNAMODB_ENDPOINT: input.dynamodbEndpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'local',
    INVENTORY_TABLE: input.tables.inventory,
    SYNC_STATE_TABLE: input.tables.syncState,
    OWNERSHIP_TABLE: input.tables.ownership,
    AUDIT_TABLE: input.tables.audit,
    LIVE_TABLE: input.tables.live,
    CLUSTERS_CONFIG: input.clustersJson,
    CONFIGURED_CLUSTER_IDS: configuredIds(input.clustersJson),
    ...(input.simulatorTokenSecret === undefined ? {} : { PVE_SIM_TOKEN: input.simulatorTokenSecret }),
    // One cadence for the sync function and the API (shared/config/cadence.ts).
    ...cadenceEnvironment({
      fullIntervalMs: input.fullIntervalMs,
      quickIntervalMs: input.quickIntervalMs,
      staleAfterMs: input.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    }),
    ...(input.healthMaxConsecutiveErrors === undefined
      ? {}
      : { HEALTH_MAX_CONSECUTIVE_ERRORS: String(input.healthMaxConsecutiveErrors) }),
    ...quietEnvironment(input.logLevel),
  };
}

/** The cluster ids of a clusters JSON, comma-separated (the handlers' `CONFIGURED_CLUSTER_IDS`). */
function configuredIds(clustersJson: string): string {
  const ids = z.object({ clusters: z.array(z.looseObject({ id: z.string() })) }).loose();
  return ids
    .parse(JSON.parse(clustersJson))
    .clusters.map((c) => c.id)
    .join(',');
}

/** Settings that keep handler output quiet; applied before any AWS SDK client or Powertools instance exists. */
export function quietEnvironment(logLevel: string): Record<string, string> {
  return {
    // Every handler call would otherwise print EMF metrics and JSON logs.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: logLevel,
  };
}

function applyEnvironment(values: Record<string, string>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    previous.set(name, process.env[name]);
    process.env[name] = value;
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * With metrics disabled, Powertools still warns "No application metrics to publish" after every
 * handler that recorded none. Asking it to throw on empty metrics skips that warning, and nothing
 * throws because disabled metrics are never serialized.
 */
async function silenceEmptyMetricsWarning(): Promise<void> {
  const { metrics } = await import('#shared/observability/powertools.ts');
  if (process.env.POWERTOOLS_METRICS_DISABLED === 'true') metrics.setThrowOnEmptyMetrics(true);
}

async function importHandler(path: string): Promise<LambdaStyleHandler> {
  const module: Record<string, unknown> = await import(path);
  const handler = module.handler;
  if (typeof handler !== 'function') throw new TypeError(`${path} exports no handler function`);
  return handler as LambdaStyleHandler;
}

function guestsFromSimulator(simulator: Simulator): DemoGuest[] {
  return simulator.clusters.flatMap((cluster) =>
    simulator.groundTruth(cluster.id).map((g) => ({
      cluster_id: cluster.id,
      vmid: g.vmid,
      type: g.type,
      status: g.status,
      template: g.template,
      lock: g.lock ?? null,
      hastate: g.hastate ?? null,
    })),
  );
}

async function guestsFromInventory(repositories: Repositories, clusters: ClustersFile): Promise<DemoGuest[]> {
  const lists = await Promise.all(
    clusters.clusters.map((c) => repositories.inventory.listAllClusterVms(c.id)),
  );
  return lists.flat().map((vm) => ({
    cluster_id: vm.cluster_id,
    vmid: vm.vmid,
    type: vm.type,
    status: vm.status,
    template: vm.is_template,
    lock: vm.lock,
    hastate: vm.hastate,
  }));
}

/** Starts the local stack; everything started is stopped again if a later step fails. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (active) throw new LocalStackAlreadyRunningError('a local stack is already running in this process');
  active = true;
  const cleanups: Array<() => Promise<void> | void> = [
    () => {
      active = false;
    },
  ];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep stopping the rest: leaving a java process behind is worse than a lost error.
      }
    }
  };
  const log = options.log ?? (() => {});
  const logLevel = options.logLevel ?? 'ERROR';
  const progress = options.onProgress ?? (() => {});
  const seedDemo = options.seed ?? options.clustersFile === undefined;
  cleanups.push(applyEnvironment(quietEnvironment(logLevel)));
  let dynamoPromise: Promise<DynamoDbLocal | null> = Promise.resolve(null);
  try {
    // Cheap checks first: nothing is started or synthesized when one of them fails.
    const checked = await preflight({
      port: options.port ?? 8080,
      ...(options.host === undefined ? {} : { host: options.host }),
      needsJava: options.dynamodbEndpoint === undefined,
      ...(options.clustersFile === undefined ? {} : { clustersFile: options.clustersFile }),
      secrets: { env: process.env },
    });
    progress('checks passed');
    const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
    const paths = dataPaths(dataDir);
    await mkdir(dataDir, { recursive: true });
    // One stack per data folder: a second one would run a second DynamoDB Local on the same files.
    const lock = await acquireDataDirLock(dataDir);
    cleanups.push(() => lock.release());

    // DynamoDB Local boots in its own process while the simulator starts and CDK synthesizes.
    dynamoPromise =
      options.dynamodbEndpoint === undefined
        ? startDynamoDbLocal(options.inMemory ? {} : { dbPath: paths.dynamodb })
        : Promise.resolve(null);
    // Awaited below; until then a failed start must not count as an unhandled rejection.
    dynamoPromise.catch(() => {});
    // Stopped by the cleanup even when a later step fails before Java has answered.
    cleanups.push(async () => {
      const local = await dynamoPromise.catch(() => null);
      await local?.stop();
    });
    let simulator: Simulator | undefined;
    let clusters: ClustersFile;
    if (options.clustersFile === undefined) {
      simulator = await startSimulator({ clusters: 2, guestsPerCluster: 100, seed: 1, ...options.simulator });
      const sim = simulator;
      cleanups.push(() => sim.stop());
      clusters = parseClustersFile(simulator.clusterConfig(), 'simulator');
      progress('simulator started');
    } else {
      clusters = checked.clusters ?? (await loadClustersFile(options.clustersFile));
    }
    const definitions = await loadSyncDefinitions(paths.definitionsCache);
    progress(
      definitions.source === 'synthesized'
        ? 'sync state machine definitions synthesized'
        : `sync state machine definitions ready (${definitions.source})`,
    );
    const dynamo = await dynamoPromise;
    const dynamodbEndpoint = dynamo?.endpoint ?? options.dynamodbEndpoint ?? '';
    progress('DynamoDB Local ready');

    const quickIntervalMs = options.quickIntervalMs ?? 30_000;
    const fullIntervalMs = options.fullIntervalMs ?? 300_000;
    const tableNames = prefixedTableNames(options.tablePrefix ?? 'pve-inventory-');
    const rawClient = new DynamoDBClient(localClientConfig(dynamodbEndpoint));
    cleanups.push(() => rawClient.destroy());
    await createTables(rawClient, tableNames);
    progress('tables ready');
    const documentClient: DynamoDBDocumentClient = createDocumentClient(localClientConfig(dynamodbEndpoint));
    cleanups.push(() => documentClient.destroy());
    const repositories = createDynamoDbRepositories(documentClient, tableNames);

    const restoreEnv = applyEnvironment({
      ...handlerEnvironment({
        dynamodbEndpoint,
        tables: tableNames,
        clustersJson: JSON.stringify(clusters),
        ...(simulator?.clusters[0] === undefined
          ? {}
          : { simulatorTokenSecret: simulator.clusters[0].tokenSecret }),
        ...(options.staleAfterMs === undefined ? {} : { staleAfterMs: options.staleAfterMs }),
        ...(options.healthMaxConsecutiveErrors === undefined
          ? {}
          : { healthMaxConsecutiveErrors: options.healthMaxConsecutiveErrors }),
        quickIntervalMs,
        fullIntervalMs,
        logLevel,
      }),
      ...options.environment,
    });
    cleanups.push(restoreEnv);

    const issuer = await createLocalIssuer({ keyFile: paths.issuerKey });
    const ttl = options.tokenTtlSeconds ?? 30 * 24 * 3600;
    const tokens: Record<string, string> = {};
    // The demo users' groups follow the configured group names (AUTH_ADMIN_GROUP, AUTH_TEACHER_GROUP).
    const identity = identityOptionsFromEnv(process.env);
    const groupOf = { admin: [identity.adminGroup], teacher: [identity.teacherGroup], student: [] } as const;
    for (const user of DEMO_USERS) {
      if (!seedDemo && user.role !== 'admin') continue;
      tokens[user.username] = await issuer.issueToken(user.username, {
        groups: [...groupOf[user.role]],
        expiresIn: ttl,
      });
    }

    await silenceEmptyMetricsWarning();
    const [listClusters, syncCluster, recordRun, classSchedules] = await Promise.all([
      importHandler('#functions/sync/list-clusters.ts'),
      importHandler('#functions/sync/sync-cluster.ts'),
      importHandler('#functions/sync/record-run.ts'),
      importHandler('#functions/schedule/run-class-schedules.ts'),
    ]);
    // Alerts (cluster unsynced / healthy again, failed scheduled or bulk actions) for the status line.
    const alerts: Alert[] = [];
    cleanups.push(
      bindLocalAlertSink({
        name: 'status-line',
        deliver: async (alert) => {
          // Transitions and failed actions only: few enough to keep them all.
          alerts.push(alert);
        },
      }),
    );
    const runner = new LocalSyncRunner({
      definitions,
      handlers: {
        listClusters: taskHandlerFromLambda('list-clusters', listClusters),
        syncCluster: taskHandlerFromLambda('sync-cluster', syncCluster),
        recordRun: taskHandlerFromLambda('record-run', recordRun),
      },
      fullIntervalMs,
      quickIntervalMs,
      // Each cluster's quick syncs on their own: a hanging cluster delays only itself.
      quickClusterIds: clusters.clusters.map((c) => c.id),
      // the one class-schedules function, on the deployment's period
      periodicJobs: [
        {
          name: 'class schedules',
          intervalMs: CLASS_SCHEDULES_PERIOD_MINUTES * 60_000,
          run: async () => taskHandlerFromLambda('class-schedules', classSchedules)({}),
        },
      ],
      log,
    });
    cleanups.push(() => runner.stop());
    progress('sync handlers loaded');

    const ports = await bindLocalPorts({
      runner,
      syncCluster: taskHandlerFromLambda('sync-cluster', syncCluster),
    });
    cleanups.push(() => ports.unbind());

    // The portal and the sign-in endpoints share the API's origin (known once the gateway listens).
    const origins: string[] = [];
    const oidc = createOidcProvider({ issuer, users: DEMO_USERS, origins: () => origins });
    const portal = createPortalSite({
      distDir: options.portalDistDir ?? PORTAL_DIST_DIR,
      config: (origin) => ({
        apiUrl: origin,
        authority: `${origin}${OIDC_BASE_PATH}`,
        clientId: issuer.clientId,
        // The live socket shares the API's origin (read at request time: the gateway listens by then).
        liveUrl: `${origin.replace(/^http/, 'ws')}${live.path}`,
      }),
    });
    const liveOptions = options.live ?? {};
    const live = createLiveSocketServer({
      handlers: async () => {
        const [authorize, socket] = await Promise.all([
          importHandler('#functions/live/authorize.ts'),
          importHandler('#functions/live/socket.ts'),
        ]);
        return {
          authorize: authorize as unknown as LiveAuthorizerHandler,
          socket: socket as unknown as LiveSocketHandler,
        };
      },
      ...(liveOptions.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: liveOptions.idleTimeoutMs }),
      ...(liveOptions.maxDurationMs === undefined ? {} : { maxDurationMs: liveOptions.maxDurationMs }),
      log,
    });
    const gateway: LocalGateway = await startLocalGateway({
      port: options.port ?? 8080,
      host: options.host ?? '127.0.0.1',
      routes: routeList,
      issuer,
      audience: issuer.clientId,
      log,
      sites: [oidc, portal],
      live,
    });
    origins.push(gateway.url, gateway.url.replace('127.0.0.1', 'localhost'));
    cleanups.push(() => gateway.close());
    const apiUrl = gateway.url;
    const liveUrl = `${apiUrl.replace(/^http/, 'ws')}${live.path}`;
    // The live handlers post back through the gateway's management API and fetch the issuer's JWKS
    // from it, as in AWS they use the stage's callback URL and the issuer's JWKS URL.
    cleanups.push(
      applyEnvironment({
        LIVE_CALLBACK_URL: apiUrl,
        LIVE_JWT_ISSUER: issuer.issuerUrl,
        LIVE_JWT_AUDIENCE: issuer.clientId,
        LIVE_JWKS_URL: `${apiUrl}${OIDC_BASE_PATH}/.well-known/jwks.json`,
      }),
    );
    progress('API gateway listening');

    // DynamoDB Local's streams feed the same notify handler as the event source mappings in AWS.
    const streamsClient = new DynamoDBStreamsClient(localClientConfig(dynamodbEndpoint));
    cleanups.push(() => streamsClient.destroy());
    const notify = await importHandler('#functions/live/notify.ts');
    const poller = await startStreamPoller({
      dynamodb: rawClient,
      streams: streamsClient,
      tables: [tableNames.inventory, tableNames.syncState, tableNames.ownership],
      handler: notify as unknown as StreamHandler,
      ...(liveOptions.batchWindowMs === undefined ? {} : { batchWindowMs: liveOptions.batchWindowMs }),
      ...(liveOptions.pollIntervalMs === undefined ? {} : { pollIntervalMs: liveOptions.pollIntervalMs }),
      ...(liveOptions.onDelivered === undefined ? {} : { onDelivered: liveOptions.onDelivered }),
      log,
    });
    cleanups.push(() => poller.stop());
    const sweep = await importHandler('#functions/live/sweep.ts');
    const sweepTimer = setInterval(() => {
      Promise.resolve(sweep({}, {} as never)).catch((error: unknown) =>
        log(`live sweep failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, liveOptions.sweepIntervalMs ?? 60_000);
    cleanups.push(() => clearInterval(sweepTimer));
    progress('live updates ready');

    let demo: DemoOwnershipPlan | null = null;
    if (seedDemo && simulator !== undefined) {
      demo = planDemoOwnership(guestsFromSimulator(simulator));
      await seedDemoOwnership(repositories.ownership, demo, Date.now());
    }

    let firstSync: Promise<void> = Promise.resolve();
    if (options.schedules !== false) {
      runner.startSchedules();
      const first = runner.status().running.find((e) => e.mode === 'full');
      firstSync = first?.done ?? Promise.resolve();
    }
    const holder: { demo: DemoOwnershipPlan | null } = { demo };
    // Real clusters: the demo VMs are picked from the first inventory.
    if (seedDemo && simulator === undefined) {
      firstSync = firstSync.then(async () => {
        holder.demo = planDemoOwnership(await guestsFromInventory(repositories, clusters));
        await seedDemoOwnership(repositories.ownership, holder.demo, Date.now());
      });
    }

    const stack: LocalStack = {
      apiUrl,
      liveUrl,
      tokens,
      issuer,
      simulator,
      clusters,
      dynamodbEndpoint,
      tableNames,
      repositories,
      runner,
      get demo() {
        return holder.demo;
      },
      firstSync,
      alerts,
      ports,
      async sync(mode, clusterId) {
        const execution = await runner.run(mode, clusterId === undefined ? {} : { clusterId });
        if (execution.error !== null) throw new Error(`${mode} sync failed: ${execution.error}`);
      },
      stop: cleanup,
    };

    const publish = options.publishState ?? options.port !== 0;
    if (publish) {
      await writeStackState(paths.stackState, {
        pid: process.pid,
        apiUrl,
        dynamodbEndpoint,
        tables: tableNames,
        issuerUrl: issuer.issuerUrl,
        clientId: issuer.clientId,
        clusters: clusters.clusters.map((c) => c.id),
        groups: { admin: identity.adminGroup, teacher: identity.teacherGroup },
        startedAt: new Date().toISOString(),
        liveUrl,
      });
      cleanups.push(() => removeStackState(paths.stackState));
    }
    return stack;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

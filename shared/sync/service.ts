import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PublishAlert } from '#shared/alerts/alerts.ts';
import { alertClusterTransitions, type ClusterAlertStateStore } from '#shared/alerts/cluster-alerts.ts';
import { alertPublisherFromEnv } from '#shared/alerts/wiring.ts';
import { getPacedDocumentClient, MissingSettingError } from '#shared/clients/dynamodb.ts';
import { secretsManagerFetcher } from '#shared/config/aws-secret.ts';
import { cadenceFromEnv } from '#shared/config/cadence.ts';
import type { ClusterConfig, ClustersFile } from '#shared/config/clusters.ts';
import { clustersFromEnv } from '#shared/config/clusters-env.ts';
import { logger as powertoolsLogger } from '#shared/observability/powertools.ts';
import { createProxmoxClient } from '#shared/proxmox/client.ts';
import type { ProxmoxLogger } from '#shared/proxmox/gateway.ts';
import { DynamoDbClusterAlertStateStore } from '#shared/store/dynamodb/alert-state-repository.ts';
import { DynamoDbHistoryRepository } from '#shared/store/dynamodb/history-repository.ts';
import { DynamoDbInventoryRepository } from '#shared/store/dynamodb/inventory-repository.ts';
import { DynamoDbOwnershipRepository } from '#shared/store/dynamodb/ownership-repository.ts';
import { DynamoDbSyncStateRepository } from '#shared/store/dynamodb/sync-state-repository.ts';
import type {
  InventoryRepository,
  MetricsHistoryRepository,
  OwnershipRepository,
  Repositories,
  SyncStateRepository,
} from '#shared/store/ports.ts';
import type {
  ListClustersInput,
  ListClustersOutput,
  RecordRunInput,
  RecordRunOutput,
  SyncClusterInput,
  SyncService,
  SyncSummary,
} from './contract.ts';
import {
  ClusterSyncEngine,
  type ClusterSyncResult,
  type SyncEngineDeps,
  type SyncRunOptions,
} from './engine.ts';
import { noMetrics, powertoolsMetricsSink, type SyncMetricsSink } from './metrics.ts';
import { createProxmoxConnector, type ProxmoxConnector } from './proxmox-connector.ts';

export { clustersFromEnv };

/**
 * The sync service the task handlers (and the API's refresh, and the local stack) call:
 * `createSyncService(deps)` for injection, `getSyncService()` built once per container from the
 * environment.
 */

/** Thrown when a run names a cluster the configuration does not have. */
export class UnknownClusterError extends Error {
  override readonly name = 'UnknownClusterError';
}

/** Cluster health alerts, evaluated when a run is recorded (shared/alerts/cluster-alerts.ts). */
export interface SyncAlerting {
  publishAlert: PublishAlert;
  store: ClusterAlertStateStore;
  /** a cluster not synced successfully for longer than this is `unsynced` (the staleness cutoff) */
  cutoffMs: number;
}

/** Dependencies of {@link createSyncService}; everything but the clusters, repositories and Proxmox has a default. */
export interface SyncServiceDeps extends Omit<SyncEngineDeps, 'now' | 'logger' | 'metrics'> {
  clusters: ClustersFile;
  now?: () => number;
  logger?: ProxmoxLogger;
  metrics?: SyncMetricsSink;
  /** alert admins of cluster state transitions (none: no alerts) */
  alerts?: SyncAlerting;
}

/** The service plus what tests, the local stack and benchmarks use beyond the contract. */
export interface EngineSyncService extends SyncService {
  /** The configured clusters. */
  readonly clusters: readonly ClusterConfig[];
  /** The full-sync period the engine sizes its config rotation with (ms). */
  readonly fullSyncIntervalMs: number;
  /** Like `syncCluster`, with the write breakdown and call counts per endpoint class. */
  syncClusterDetailed(input: SyncClusterInput, options?: SyncRunOptions): Promise<ClusterSyncResult>;
}

const silentLogger: ProxmoxLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds the sync service on injected adapters. */
export function createSyncService(deps: SyncServiceDeps): EngineSyncService {
  const now = deps.now ?? Date.now;
  const engine = new ClusterSyncEngine({
    ...deps,
    now,
    logger: deps.logger ?? silentLogger,
    metrics: deps.metrics ?? noMetrics,
  });
  const clusters = deps.clusters.clusters;
  const find = (clusterId: string): ClusterConfig => {
    const cluster = clusters.find((c) => c.id === clusterId);
    if (!cluster) throw new UnknownClusterError(`cluster ${clusterId} is not configured`);
    return cluster;
  };

  const logger = deps.logger ?? silentLogger;
  /** Alerts each cluster's transition once; a failure to alert is logged, never fails the run's record. */
  const alertTransitions = async (alerting: SyncAlerting): Promise<void> => {
    try {
      await alertClusterTransitions({
        states: await deps.repositories.syncState.listClusterStates(),
        store: alerting.store,
        publishAlert: alerting.publishAlert,
        nowMs: now(),
        cutoffMs: alerting.cutoffMs,
      });
    } catch (error) {
      logger.error('could not evaluate the cluster alerts', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const syncClusterDetailed = (
    input: SyncClusterInput,
    options?: SyncRunOptions,
  ): Promise<ClusterSyncResult> => {
    // The earlier of the caller's deadline (a refresh's) and the run's own (its Lambda's end).
    const deadlines = [options?.deadlineAt, input.deadline_at].filter((at) => at !== undefined);
    return engine.sync(find(input.cluster_id), input.mode, {
      ...options,
      ...(deadlines.length > 0 ? { deadlineAt: Math.min(...deadlines) } : {}),
      manual: input.manual === true,
      ...(input.vmids === undefined ? {} : { vmids: new Set(input.vmids) }),
    });
  };

  return {
    clusters,
    fullSyncIntervalMs: engine.fullIntervalMs,
    async listClusters(input: ListClustersInput): Promise<ListClustersOutput> {
      const selected = input.cluster_id === undefined ? clusters : [find(input.cluster_id)];
      // `manual` is always present (ListedClusterSchema): the quick machine's first pass reads it.
      const manual = input.manual === true;
      return {
        mode: input.mode,
        clusters: selected.map((c) => ({ cluster_id: c.id, mode: input.mode, manual })),
      };
    },
    async syncCluster(input: SyncClusterInput, options?: SyncRunOptions): Promise<SyncSummary> {
      return (await syncClusterDetailed(input, options)).summary;
    },
    syncClusterDetailed,
    async recordRun(input: RecordRunInput): Promise<RecordRunOutput> {
      // A task that failed as a whole (timeout, crash) left no summary: record it on its cluster.
      for (const result of input.results) {
        if ('mode' in result) continue;
        const cluster = clusters.find((c) => c.id === result.cluster_id);
        if (cluster) await engine.recordTaskFailure(cluster, input.mode, result.error);
      }
      const ok = input.results.filter((result) => result.ok).length;
      const failed = input.results.length - ok;
      let duration: number | null = null;
      for (const result of input.results) {
        if ('duration_ms' in result) duration = Math.max(duration ?? 0, Math.round(result.duration_ms));
      }
      await deps.repositories.syncState.putGlobalRunStats({
        mode: input.mode,
        finished_at: now(),
        clusters: input.results.length,
        ok,
        failed,
        duration_ms: duration,
      });
      if (deps.alerts !== undefined) await alertTransitions(deps.alerts);
      return { mode: input.mode, clusters: input.results.length, ok, failed };
    },
  };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Repositories on the environment's tables, each created on first use: the list-clusters and
 * record-run functions only get `SYNC_STATE_TABLE`, and must not fail for the tables they never use.
 */
export function repositoriesFromEnv(env: Env, client: () => DynamoDBDocumentClient): Repositories {
  const table = (name: string): string => {
    const value = env[name];
    if (!value) throw new MissingSettingError(`environment variable ${name} is not set`);
    return value;
  };
  let inventory: InventoryRepository | undefined;
  let syncState: SyncStateRepository | undefined;
  let ownership: OwnershipRepository | undefined;
  let history: MetricsHistoryRepository | undefined;
  return {
    get inventory() {
      if (!inventory) {
        const tableName = table('INVENTORY_TABLE');
        inventory = new DynamoDbInventoryRepository(client(), tableName);
      }
      return inventory;
    },
    get syncState() {
      if (!syncState) {
        const tableName = table('SYNC_STATE_TABLE');
        syncState = new DynamoDbSyncStateRepository(client(), tableName);
      }
      return syncState;
    },
    get ownership() {
      if (!ownership) {
        const tableName = table('OWNERSHIP_TABLE');
        ownership = new DynamoDbOwnershipRepository(client(), tableName);
      }
      return ownership;
    },
    get history() {
      if (!history) {
        const tableName = table('SYNC_STATE_TABLE');
        history = new DynamoDbHistoryRepository(client(), tableName);
      }
      return history;
    },
  };
}

/** Options of {@link createSyncServiceFromEnv}. */
export interface SyncServiceFromEnvOptions {
  env?: Env;
  logger?: ProxmoxLogger;
  metrics?: SyncMetricsSink;
  documentClient?: DynamoDBDocumentClient;
  /** The clock (default Date.now). */
  now?: () => number;
}

/** A service and the connector it owns (close it when done, outside Lambda). */
export interface OwnedSyncService {
  service: EngineSyncService;
  connector: ProxmoxConnector;
}

/**
 * Builds the service from the environment: `CLUSTERS_CONFIG`, the table variables, token secrets
 * from the environment, files or Secrets Manager (one secret per cluster, cached with a max age),
 * and the cadence (`FULL_SYNC_MINUTES` or `FULL_SYNC_SECONDS`: rotation sizing, default 5 minutes;
 * see shared/config/cadence.ts).
 */
export async function createSyncServiceFromEnv(
  options: SyncServiceFromEnvOptions = {},
): Promise<OwnedSyncService> {
  const env = options.env ?? process.env;
  const clusters = await clustersFromEnv(env);
  const needsAws = clusters.clusters.some((c) => c.tokenSecret.awsSecret !== undefined);
  const awsSecret = needsAws ? secretsManagerFetcher(new SecretsManagerClient({})) : undefined;
  const logger = options.logger ?? fromPowertools(powertoolsLogger);
  const connector = createProxmoxConnector({
    sources: { env, ...(awsSecret ? { awsSecret } : {}) },
    clientDeps: { logger },
    createClient: createProxmoxClient,
  });
  const cadence = cadenceFromEnv(env);
  const documentClient = options.documentClient;
  const service = createSyncService({
    clusters,
    repositories: repositoriesFromEnv(env, () => documentClient ?? getPacedDocumentClient()),
    connect: (cluster) => connector.connect(cluster),
    invalidate: (clusterId) => connector.invalidate(clusterId),
    logger,
    metrics: options.metrics ?? powertoolsMetricsSink(),
    fullSyncIntervalMs: cadence.fullIntervalMs,
    alerts: {
      publishAlert: alertPublisherFromEnv(env, logger),
      store: lazyAlertStateStore(() => {
        const table = env.SYNC_STATE_TABLE;
        if (!table) throw new MissingSettingError('environment variable SYNC_STATE_TABLE is not set');
        return new DynamoDbClusterAlertStateStore(documentClient ?? getPacedDocumentClient(), table);
      }),
      cutoffMs: cadence.staleAfterMs,
    },
    ...(options.now ? { now: options.now } : {}),
  });
  return { service, connector };
}

/** A store created on first use (list-clusters builds the service too, without the table). */
function lazyAlertStateStore(create: () => ClusterAlertStateStore): ClusterAlertStateStore {
  let store: ClusterAlertStateStore | undefined;
  const get = () => {
    store ??= create();
    return store;
  };
  return {
    list: () => get().list(),
    transition: (clusterId, from, to, atMs) => get().transition(clusterId, from, to, atMs),
  };
}

/** Adapts the Powertools logger to the structured-logger port the engine and the client use. */
function fromPowertools(target: typeof powertoolsLogger): ProxmoxLogger {
  return {
    debug: (message, attributes) => target.debug(message, attributes ?? {}),
    info: (message, attributes) => target.info(message, attributes ?? {}),
    warn: (message, attributes) => target.warn(message, attributes ?? {}),
    error: (message, attributes) => target.error(message, attributes ?? {}),
  };
}

let shared: Promise<EngineSyncService> | undefined;

/** The container's sync service, built once from `process.env` (a failed build is retried next call). */
export function getSyncService(): Promise<EngineSyncService> {
  shared ??= createSyncServiceFromEnv().then(
    (owned) => owned.service,
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}

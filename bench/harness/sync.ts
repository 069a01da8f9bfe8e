import { performance } from 'node:perf_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClusterConfig } from '#shared/config/clusters.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import type { SyncMode } from '#shared/sync/contract.ts';
import type { ClusterSyncResult } from '#shared/sync/engine.ts';
import { createSyncService, type EngineSyncService } from '#shared/sync/service.ts';

/**
 * The real sync service wired for the benchmark: the fleet's Proxmox clients, the metered DynamoDB
 * client and a clock the benchmark can move forward together with the simulator (so steady-state
 * runs 5 minutes apart take no real 5 minutes).
 */

/** A clock shared by the sync engine and the simulator. */
export interface BenchClock {
  now(): number;
  /** Moves the engine's clock and the simulator's time forward. */
  advance(ms: number): Promise<void>;
  readonly offsetMs: number;
}

/** One pass over every cluster, like one Map of the state machine. */
export interface PassResult {
  mode: SyncMode;
  wallMs: number;
  results: ClusterSyncResult[];
  listClustersMs: number;
  recordRunMs: number;
}

/** The service and how to run passes with it. */
export interface BenchSync {
  service: EngineSyncService;
  clock: BenchClock;
  /** Runs ListClusters, SyncCluster for every cluster (at most `concurrency` at once) and RecordRun. */
  runPass(mode: SyncMode, concurrency?: number): Promise<PassResult>;
  close(): Promise<void>;
}

/** Options of {@link createBenchSync}. */
export interface BenchSyncOptions {
  clusters: ClusterConfig[];
  /** A Proxmox client of a cluster (one is made per cluster and reused). */
  client(clusterId: string): ProxmoxGateway;
  /** Moves the simulator's time forward (in process, or through its control API). */
  advanceSimulator(ms: number): Promise<void>;
  documentClient: DynamoDBDocumentClient;
  tables: TableNames;
}

/** Wires the sync service on the fleet and the tables. */
export function createBenchSync(options: BenchSyncOptions): BenchSync {
  let offset = 0;
  const clock: BenchClock = {
    now: () => Date.now() + offset,
    async advance(ms) {
      offset += ms;
      await options.advanceSimulator(ms);
    },
    get offsetMs() {
      return offset;
    },
  };
  const gateways = new Map<string, ProxmoxGateway>();
  const service = createSyncService({
    clusters: { clusters: options.clusters },
    repositories: createDynamoDbRepositories(options.documentClient, options.tables, { now: clock.now }),
    connect: async (cluster) => {
      let g = gateways.get(cluster.id);
      if (g === undefined) {
        g = options.client(cluster.id);
        gateways.set(cluster.id, g);
      }
      return g;
    },
    now: clock.now,
  });
  return {
    service,
    clock,
    async runPass(mode, concurrency = 10) {
      const started = performance.now();
      const t0 = performance.now();
      const listed = await service.listClusters({ mode });
      const listClustersMs = performance.now() - t0;
      const queue = [...listed.clusters];
      const results: ClusterSyncResult[] = [];
      const worker = async (): Promise<void> => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
          results.push(await service.syncClusterDetailed({ cluster_id: item.cluster_id, mode }));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      const t1 = performance.now();
      await service.recordRun({ mode, results: results.map((r) => r.summary) });
      const recordRunMs = performance.now() - t1;
      return { mode, wallMs: performance.now() - started, results, listClustersMs, recordRunMs };
    },
    async close() {
      await Promise.all([...gateways.values()].map((g) => g.close().catch(() => undefined)));
    },
  };
}

/** Sums of a pass's per-cluster results. */
export function passTotals(pass: PassResult): {
  vms: number;
  changed: number;
  writes: number;
  calls: number;
  failed: number;
  maxClusterMs: number;
  meanClusterMs: number;
} {
  let vms = 0;
  let changed = 0;
  let writes = 0;
  let calls = 0;
  let failed = 0;
  let maxMs = 0;
  let sumMs = 0;
  for (const r of pass.results) {
    vms += r.summary.vms;
    changed += r.summary.changed;
    writes += r.summary.writes;
    calls += r.summary.proxmox_calls;
    if (!r.summary.ok || r.summary.skipped !== undefined) failed += 1;
    maxMs = Math.max(maxMs, r.summary.duration_ms);
    sumMs += r.summary.duration_ms;
  }
  return {
    vms,
    changed,
    writes,
    calls,
    failed,
    maxClusterMs: maxMs,
    meanClusterMs: pass.results.length === 0 ? 0 : sumMs / pass.results.length,
  };
}

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { countOutcomes } from '#shared/actions/bulk-action.ts';
import { startBulkAction } from '#shared/actions/bulk-service.ts';
import { createGatewayProvider } from '#shared/actions/gateway-provider.ts';
import { createActionWiring } from '#shared/actions/wiring.ts';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { normalizeVmStatus } from '#shared/domain/vm-record.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { DynamoDbBulkJobStore } from '#shared/store/dynamodb/bulk-job-repository.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { startSimulator } from '#simulator/index.ts';
import type { BenchDynamo } from '../harness/dynamo.ts';

/** What a 30-VM class start cost and took. */
export interface BulkStartResult {
  readonly vms: number;
  readonly nodes: number;
  readonly workerLimit: number;
  readonly taskDelayMs: number;
  readonly wallMs: number;
  readonly proxmoxCalls: Record<string, number>;
  /** per node, the most calls at it at once (served or queued) */
  readonly peakPerNode: Record<string, number>;
  readonly outcomes: Record<string, number>;
  readonly runningAfter: number;
}

/**
 * A teacher starts a 30-VM class (3 nodes, every VM stopped, Proxmox tasks of `taskDelayMs`)
 * through the bulk action on DynamoDB Local and the simulator: the Proxmox calls it makes, the
 * most calls at one node at once, and the wall time of the request.
 */
export async function measureBulkClassStart(options: {
  readonly dynamo: BenchDynamo;
  readonly taskDelayMs: number;
  readonly log: (line: string) => void;
}): Promise<BulkStartResult> {
  const sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 3,
    guestsPerCluster: 60,
    seed: 23,
    taskDelayMs: options.taskDelayMs,
    probeListeners: false,
    drift: false,
  });
  try {
    const cluster = sim.clusters[0];
    if (cluster === undefined) throw new Error('simulator without cluster');
    const guests = sim
      .groundTruth(cluster.id)
      .filter((g) => !g.template && g.lock === undefined && g.hastate === undefined)
      .slice(0, 30);
    for (const guest of guests) sim.setGuestStatus(cluster.id, guest.vmid, 'stopped');
    await sim.settled();
    const tables = await options.dynamo.createTableSet('bulk');
    const repos = createDynamoDbRepositories(options.dynamo.documentClient, tables);
    await repos.inventory.batchPut(
      sim.groundTruth(cluster.id).map((g) => ({
        cluster_id: cluster.id,
        vmid: g.vmid,
        cluster_name: cluster.name,
        name: g.name,
        node: g.node,
        type: g.type,
        category: g.category,
        status: normalizeVmStatus(g.status),
        memory: g.memoryMiB,
        cores: g.cores,
        disk_size: g.diskBytes,
        is_template: g.template,
        observed_at: 1_000,
      })),
    );
    await repos.ownership.putClass({ class_id: 'bench-30', name: 'Bench 30', owner: 'carol', created_at: 0 });
    await repos.ownership.addClassMember('bench-30', 'carol', 'teacher');
    for (const g of guests) {
      await repos.ownership.assignClassVm('bench-30', { cluster_id: cluster.id, vmid: g.vmid }, null, 0);
    }
    const clusters = parseClustersFile(sim.clusterConfig(), 'simulator');
    const provider = createGatewayProvider(
      clusters,
      createProxmoxConnector({
        createClient: createHttpsProxmoxClient,
        sources: { env: { PVE_SIM_TOKEN: cluster.tokenSecret } },
      }),
    );
    try {
      const wiring = createActionWiring(clusters, provider, {
        inventory: repos.inventory,
        ownership: repos.ownership,
      });
      // the client is connected outside the measurement, as in a warm function
      await provider.gatewayFor(cluster.id);
      sim.resetCounters();
      const started = performance.now();
      const job = await startBulkAction(
        {
          inventory: repos.inventory,
          ownership: repos.ownership,
          jobs: new DynamoDbBulkJobStore(options.dynamo.documentClient, tables.syncState),
          newId: randomUUID,
          actionService: (waitMs) => wiring.actionService(waitMs),
          workerLimit: (id) => wiring.workerLimit(id),
        },
        {
          caller: { username: 'carol', roles: { admin: false, teacher: true } },
          action: 'start',
          classId: 'bench-30',
          requestId: randomUUID(),
        },
      );
      const wallMs = performance.now() - started;
      const counters = sim.counters(cluster.id);
      const proxmoxCalls = Object.fromEntries(Object.entries(counters).filter(([, n]) => n > 0));
      const result: BulkStartResult = {
        vms: guests.length,
        nodes: new Set(guests.map((g) => g.node)).size,
        workerLimit: wiring.workerLimit(cluster.id),
        taskDelayMs: options.taskDelayMs,
        wallMs,
        proxmoxCalls,
        peakPerNode: sim.peakInFlight(cluster.id),
        outcomes: countOutcomes(job.results),
        runningAfter: guests.filter((g) => sim.guest(cluster.id, g.vmid)?.status === 'running').length,
      };
      options.log(
        `bulk class start: ${result.vms} VMs in ${Math.round(wallMs)} ms, ${counters.total} Proxmox calls, peak ${Math.max(...Object.values(result.peakPerNode))} per node`,
      );
      return result;
    } finally {
      await provider.close();
    }
  } finally {
    await sim.stop();
  }
}

import { performance } from 'node:perf_hooks';
import { syncClusterTimeoutSeconds } from '#infra/constructs/sync-functions.ts';
import { localClientConfig } from '#local/dynamodb-local.ts';
import { createDocumentClient } from '#shared/clients/dynamodb.ts';
import { DynamoDbInventoryRepository } from '#shared/store/dynamodb/inventory-repository.ts';
import { attachWritePacing } from '#shared/store/dynamodb/write-pacing.ts';
import type { BenchDynamo } from '../harness/dynamo.ts';
import { startFleet } from '../harness/fleet.ts';
import { createBenchSync } from '../harness/sync.ts';

/**
 * The limits scenario (issue 20): one cluster of 5,000 guests on 3 nodes, contiguous VMID ranges
 * per node, modelled call latencies, "agent not running" answered after 3 s as real PVE does, and
 * each full sync given the deployed sync-cluster timeout as its deadline. Cold full syncs start one
 * full-sync period apart, as scheduled (the wait is simulated time), until every guest has its
 * details.
 */

/** One full sync of the scenario. */
export interface LimitsRun {
  ok: boolean;
  duration_s: number;
  guests_done: number;
  guests_total: number;
  config_calls: number;
  agent_calls: number;
  error: string | null;
}

/** What the scenario measured (the `limits` section of the JSON). */
export interface LimitsResult {
  cluster_5k_cold_runs: number;
  cluster_5k_cold_total_s: number;
  cluster_5k_completed: boolean;
  lambda_timeout_s: number;
  full_sync_minutes: number;
  guests: number;
  nodes: number;
  agent_not_running_guests: number;
  agent_not_running_delay_ms: number;
  runs: LimitsRun[];
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

export async function runLimitsScenario(input: {
  dynamo: BenchDynamo;
  log: (line: string) => void;
  guests?: number;
  fullSyncMinutes?: number;
  maxRuns?: number;
}): Promise<LimitsResult> {
  const guests = input.guests ?? 5_000;
  const fullSyncMinutes = input.fullSyncMinutes ?? 5;
  const maxRuns = input.maxRuns ?? 4;
  const timeoutS = syncClusterTimeoutSeconds(fullSyncMinutes);
  const agentDelayMs = 3_000;
  const fleet = await startFleet({
    clusters: 1,
    guestsPerCluster: guests,
    nodesPerCluster: 3,
    nodeLayout: 'contiguous',
    agentNotRunningDelayMs: agentDelayMs,
    drift: false,
    seed: 20,
  });
  // The sync's own client: paced writes, as deployed.
  const documentClient = createDocumentClient(localClientConfig(input.dynamo.endpoint));
  attachWritePacing(documentClient);
  const tables = await input.dynamo.createTableSet('limits');
  const inventory = new DynamoDbInventoryRepository(documentClient, tables.inventory);
  const sync = createBenchSync({
    clusters: fleet.clusters,
    client: (id) => fleet.client(id),
    advanceSimulator: async (ms) => {
      fleet.sim.advance(ms);
      await fleet.sim.settled();
    },
    documentClient,
    tables,
  });
  try {
    const cluster = fleet.clusters[0];
    if (cluster === undefined) throw new Error('the limits fleet has no cluster');
    const truth = fleet.sim.groundTruth(cluster.id);
    const notRunning = truth.filter(
      (g) => g.type === 'qemu' && g.status === 'running' && g.agent === 'not-running',
    ).length;
    const runs: LimitsRun[] = [];
    let completed = false;
    let lastStart = 0;
    for (let run = 1; run <= maxRuns && !completed; run += 1) {
      // The schedule starts a full sync every period: the next one a period after this one started.
      if (run > 1)
        await sync.clock.advance(
          Math.max(0, Math.round(fullSyncMinutes * 60_000 - (performance.now() - lastStart))),
        );
      lastStart = performance.now();
      const started = performance.now();
      const result = await sync.service.syncClusterDetailed(
        { cluster_id: cluster.id, mode: 'full' },
        { deadlineAt: sync.clock.now() + timeoutS * 1000 },
      );
      const stored = await inventory.listAllClusterVms(cluster.id, { consistentRead: true });
      const items = {
        total: stored.length,
        withDetails: stored.filter((vm) => vm.config_checked_at !== null).length,
      };
      completed = items.total === truth.length && items.withDetails === truth.length;
      runs.push({
        ok: result.summary.ok,
        duration_s: r1((performance.now() - started) / 1000),
        guests_done: result.details?.done ?? 0,
        guests_total: result.details?.total ?? 0,
        config_calls: result.calls.config,
        agent_calls: result.calls.agent,
        error: result.summary.error ?? null,
      });
      input.log(
        `  run ${run}: ${result.details?.done ?? 0}/${result.details?.total ?? 0} guests in ${runs.at(-1)?.duration_s} s (${items.withDetails} of ${truth.length} stored with details)${result.summary.error ? ` — ${result.summary.error}` : ''}`,
      );
    }
    return {
      cluster_5k_cold_runs: runs.length,
      cluster_5k_cold_total_s: r1(runs.reduce((sum, r) => sum + r.duration_s, 0)),
      cluster_5k_completed: completed,
      lambda_timeout_s: timeoutS,
      full_sync_minutes: fullSyncMinutes,
      guests: truth.length,
      nodes: 3,
      agent_not_running_guests: notRunning,
      agent_not_running_delay_ms: agentDelayMs,
      runs,
    };
  } finally {
    await sync.close();
    documentClient.destroy();
    await fleet.stop();
  }
}

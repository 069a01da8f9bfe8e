import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import type { TableNames } from '#shared/store/table-design.ts';
import { type KnownGuest, statusPollPass } from '../baselines/status-poll.ts';
import type { BenchDynamo } from '../harness/dynamo.ts';
import type { BenchFleet } from '../harness/fleet.ts';
import { runPasses } from '../harness/passes.ts';
import type { PassReport, SyncStep } from '../harness/sync-job.ts';
import type { HistoryUnits } from '../lib/cost-model.ts';
import { type SampleSummary, summarize } from '../lib/stats.ts';
import { measureHistoryUnits } from './history-units.ts';

/**
 * Measurement 3 (and the unit counts of the cost model) on the reference fleet with churn and load
 * drift: the write and read units DynamoDB Local reports for every quick pass and full sync of a
 * simulated window (quick every 30 s, full every 5 min), against rewriting every VM item.
 */

export interface DynamoScenarioResult {
  guests: number;
  clusters: number;
  churnPerMinute: number;
  windowMinutes: number;
  quickWcu: SampleSummary;
  quickRcu: SampleSummary;
  fullWcu: SampleSummary;
  fullRcu: SampleSummary;
  coldFullWcu: number;
  /** Write units of one rewrite of every VM item (BatchWriteItem, as the naive sync did each pass). */
  rewriteAllWcu: number;
  /** quick mean ÷ rewrite-all */
  quickShareOfRewrite: number;
  /** Items changed per quick pass (mean), as the engine reported. */
  quickChangedMean: number;
  /** Mean write units per quick pass and per steady full sync, by table (VmInventory, SyncState, Ownership). */
  quickWcuByTable: Record<string, number>;
  fullWcuByTable: Record<string, number>;
  /** Mean items written per quick pass, by kind (inventory, runtime set items, state, ownership, history). */
  quickWritesByKind: Record<string, number>;
  /** The metrics history's units (part of the quick passes' units), measured on the window's buckets. */
  history: HistoryUnits;
  /** Per-cluster Lambda-like durations (ms) for the cost model. */
  durations: {
    quickMsPerCluster: number;
    fullMsPerCluster: number;
    coldFullMsPerCluster: number;
    listClustersMs: number;
    recordRunMs: number;
    baselinePollMsPerCluster: number;
    quickPassWallMs: number;
  };
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
/** Mean write units per pass by logical table (the physical names carry a prefix). */
function wcuByTable(passes: PassReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of passes) {
    for (const [name, units] of Object.entries(p.wcuByTable)) {
      const logical = ['VmInventory', 'SyncState', 'Ownership'].find((t) => name.endsWith(t)) ?? name;
      out[logical] = (out[logical] ?? 0) + units / Math.max(1, passes.length);
    }
  }
  return out;
}

function writesByKind(passes: PassReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of passes)
    for (const c of p.clusters)
      for (const [k, v] of Object.entries(c.writesByKind))
        out[k] = (out[k] ?? 0) + v / Math.max(1, passes.length);
  return out;
}

const clusterMs = (passes: PassReport[]): number =>
  mean(passes.flatMap((p) => p.clusters.map((c) => c.duration_ms)));

/** Steps: a cold full sync, then `minutes` of quick passes every 30 s and a full sync every 5 min. */
export function windowSteps(minutes: number): SyncStep[] {
  const steps: SyncStep[] = [{ label: 'full-cold', mode: 'full' }];
  for (let m = 1; m <= minutes; m += 1) {
    steps.push({ label: `quick-${m}a`, mode: 'quick', advanceMsBefore: 30_000 });
    steps.push({ label: `quick-${m}b`, mode: 'quick', advanceMsBefore: 30_000 });
    if (m % 5 === 0) steps.push({ label: `full-${m}`, mode: 'full' });
  }
  return steps;
}

/** Runs the window and the rewrite-all baseline. */
export async function runDynamoScenario(input: {
  fleet: BenchFleet;
  dynamo: BenchDynamo;
  tables: TableNames;
  churnPerMinute: number;
  windowMinutes: number;
  log: (line: string) => void;
}): Promise<DynamoScenarioResult> {
  const { fleet, dynamo } = input;
  const job = await runPasses(fleet, dynamo, input.tables, windowSteps(input.windowMinutes));
  const cold = job.passes[0];
  if (cold === undefined) throw new Error('no cold full sync');
  const quicks = job.passes.filter((p) => p.mode === 'quick');
  const fulls = job.passes.filter((p) => p.mode === 'full' && p.label !== 'full-cold');

  // The naive sync wrote every item on every pass: put the current items again, into a scratch set.
  const repos = createDynamoDbRepositories(dynamo.documentClient, input.tables);
  const items = (
    await Promise.all(fleet.clusters.map((c) => repos.inventory.listAllClusterVms(c.id)))
  ).flat();
  const scratch = await dynamo.createTableSet('rewrite');
  const scratchRepos = createDynamoDbRepositories(dynamo.documentClient, scratch);
  dynamo.meter.reset();
  await scratchRepos.inventory.batchPut(items);
  const rewriteAllWcu = dynamo.meter.totals().wcu;

  const pollMs: number[] = [];
  const clients = fleet.clusters.map((c) => fleet.client(c.id));
  for (let i = 0; i < 3; i += 1) {
    const results = await Promise.all(
      clients.map((client) => {
        const known: KnownGuest[] = fleet.sim
          .groundTruth(client.clusterId)
          .filter((g) => g.status === 'running')
          .map((g) => ({ node: g.node, type: g.type, vmid: g.vmid }));
        return statusPollPass(client, known);
      }),
    );
    for (const r of results) pollMs.push(r.durationMs);
  }

  const history = await measureHistoryUnits({
    dynamo,
    tables: input.tables,
    clusterIds: fleet.clusters.map((c) => c.id),
  });

  const guests = fleet.clusters.reduce((s, c) => s + fleet.sim.groundTruth(c.id).length, 0);
  const quickWcu = summarize(quicks.map((p) => p.wcu));
  const result: DynamoScenarioResult = {
    guests,
    clusters: fleet.clusters.length,
    churnPerMinute: input.churnPerMinute,
    windowMinutes: input.windowMinutes,
    quickWcu,
    quickRcu: summarize(quicks.map((p) => p.rcu)),
    fullWcu: summarize(fulls.length > 0 ? fulls.map((p) => p.wcu) : [cold.wcu]),
    fullRcu: summarize(fulls.length > 0 ? fulls.map((p) => p.rcu) : [cold.rcu]),
    coldFullWcu: cold.wcu,
    rewriteAllWcu,
    quickShareOfRewrite: rewriteAllWcu === 0 ? 0 : quickWcu.mean / rewriteAllWcu,
    quickChangedMean: mean(quicks.map((p) => p.clusters.reduce((s, c) => s + c.changed, 0))),
    quickWcuByTable: wcuByTable(quicks),
    fullWcuByTable: wcuByTable(fulls),
    quickWritesByKind: writesByKind(quicks),
    history,
    durations: {
      quickMsPerCluster: clusterMs(quicks),
      fullMsPerCluster: clusterMs(fulls.length > 0 ? fulls : [cold]),
      coldFullMsPerCluster: clusterMs([cold]),
      listClustersMs: mean(job.passes.map((p) => p.listClustersMs)),
      recordRunMs: mean(job.passes.map((p) => p.recordRunMs)),
      baselinePollMsPerCluster: mean(pollMs),
      quickPassWallMs: mean(quicks.map((p) => p.wallMs)),
    },
  };
  input.log(
    `  ${guests} guests, churn ${input.churnPerMinute}/min/cluster, ${input.windowMinutes} min: quick ${quickWcu.mean.toFixed(1)} WCU/pass (n=${quickWcu.n}), full ${result.fullWcu.mean.toFixed(1)} WCU/run, rewrite-all ${rewriteAllWcu} WCU (${(result.quickShareOfRewrite * 100).toFixed(2)}%)`,
  );
  return result;
}

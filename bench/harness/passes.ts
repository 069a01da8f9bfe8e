import type { TableNames } from '#shared/store/table-design.ts';
import type { BenchDynamo } from './dynamo.ts';
import type { BenchFleet } from './fleet.ts';
import { runSyncJob, type SyncJobReport, type SyncStep } from './sync-job.ts';

/** Runs sync passes over a fleet in a child process (see sync-job.ts). */
export function runPasses(
  fleet: BenchFleet,
  dynamo: BenchDynamo,
  tables: TableNames,
  steps: SyncStep[],
): Promise<SyncJobReport> {
  return runSyncJob({
    endpoint: dynamo.endpoint,
    tables,
    clusters: fleet.sim.clusterConfig(),
    secrets: Object.fromEntries(fleet.clusters.map((c) => [c.id, fleet.secretOf(c.id)])),
    controlUrl: fleet.sim.controlUrl,
    steps,
  });
}

/** Sum of one endpoint class's calls (or all: `total`) over a pass's clusters. */
export function callsOf(pass: { clusters: { calls: Record<string, number> }[] }, cls = 'total'): number {
  return pass.clusters.reduce((s, c) => s + (c.calls[cls] ?? 0), 0);
}

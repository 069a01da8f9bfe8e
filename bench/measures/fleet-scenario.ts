import type { TableNames } from '#shared/store/table-design.ts';
import { type KnownGuest, statusPollPass } from '../baselines/status-poll.ts';
import type { BenchDynamo } from '../harness/dynamo.ts';
import type { BenchFleet } from '../harness/fleet.ts';
import { callsOf, runPasses } from '../harness/passes.ts';
import type { PassReport, SyncJobReport, SyncStep } from '../harness/sync-job.ts';
import { type SampleSummary, summarize } from '../lib/stats.ts';

/**
 * Measurements 2 and 4 on one fleet: the real sync's passes in a child process — a cold full sync,
 * quick passes 30 s apart, then one 30-minute rotation of full syncs 5 minutes apart (simulated
 * time, so the config rotation and IP/agent re-reads come due as they would) — with the Proxmox
 * calls per pass by class, wall times and peak memory; next to the original portal's status poll.
 */

/** Steps of the scenario: `steadyFulls` full syncs 5 min apart after the quick passes. */
export function scenarioSteps(quickPasses: number, steadyFulls: number): SyncStep[] {
  const steps: SyncStep[] = [{ label: 'full-cold', mode: 'full' }];
  for (let i = 1; i <= quickPasses; i += 1)
    steps.push({ label: `quick-${i}`, mode: 'quick', advanceMsBefore: 30_000 });
  for (let i = 1; i <= steadyFulls; i += 1) {
    const advance = i === 1 ? Math.max(0, 300_000 - quickPasses * 30_000) : 300_000;
    steps.push({ label: `full-steady-${i}`, mode: 'full', advanceMsBefore: advance });
  }
  return steps;
}

/** Per-class call counts summed over a pass's clusters. */
export function callsByClass(pass: PassReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of pass.clusters) for (const [k, v] of Object.entries(c.calls)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** What one fleet scenario measured. */
export interface FleetScenarioResult {
  guests: number;
  clusters: number;
  runningGuests: number;
  /** Running QEMU guests whose config enables the agent, plus running containers (IP sources). */
  ipCandidates: number;
  quick: {
    callsPerCluster: number;
    calls: number;
    wallS: SampleSummary;
    peakRssMb: number;
    peakHeapMb: number;
    failedRuns: number;
  };
  fullCold: {
    calls: number;
    byClass: Record<string, number>;
    wallS: number;
    peakRssMb: number;
    peakHeapMb: number;
    failedRuns: number;
  };
  fullSteady: {
    n: number;
    calls: SampleSummary;
    /** mean config calls per full ÷ guests */
    configShare: number;
    /** mean agent + interfaces calls per full */
    ipCallsMean: number;
    /** mean of everything but config, agent and interfaces (listing, cluster status, nodes) */
    otherCallsMean: number;
    byClassMean: Record<string, number>;
    wallS: SampleSummary;
    peakRssMb: number;
    peakHeapMb: number;
    failedRuns: number;
  };
  baseline: {
    /** status calls per cluster per poll (one per running guest) */
    callsPerCluster: number;
    calls: number;
    msPerCluster: SampleSummary;
  };
  worker: { idleRssMb: number; maxRssMb: number };
  /** Raw passes (for the cost model and the JSON). */
  job: SyncJobReport;
}

const MB = 1024 * 1024;

const failed = (p: PassReport): number => p.clusters.filter((c) => !c.ok || c.skipped !== undefined).length;

/** Runs the scenario on a fresh table set. */
export async function runFleetScenario(input: {
  fleet: BenchFleet;
  dynamo: BenchDynamo;
  tables: TableNames;
  quickPasses: number;
  steadyFulls: number;
  baselinePolls: number;
  log: (line: string) => void;
}): Promise<FleetScenarioResult> {
  const { fleet, log } = input;
  const truth = fleet.clusters.map((c) => ({ id: c.id, guests: fleet.sim.groundTruth(c.id) }));
  const guests = truth.reduce((s, t) => s + t.guests.length, 0);
  const running = truth.flatMap((t) => t.guests.filter((g) => g.status === 'running'));
  const ipCandidates = running.filter(
    (g) =>
      g.type === 'lxc' || g.agent === 'running' || g.agent === 'running-no-ips' || g.agent === 'not-running',
  ).length;

  const job = await runPasses(
    fleet,
    input.dynamo,
    input.tables,
    scenarioSteps(input.quickPasses, input.steadyFulls),
  );
  const cold = job.passes.find((p) => p.label === 'full-cold');
  if (cold === undefined) throw new Error('the scenario has no cold full sync');
  const quicks = job.passes.filter((p) => p.mode === 'quick');
  const steadies = job.passes.filter((p) => p.label.startsWith('full-steady'));
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const steadyByClass: Record<string, number> = {};
  for (const p of steadies)
    for (const [k, v] of Object.entries(callsByClass(p)))
      steadyByClass[k] = (steadyByClass[k] ?? 0) + v / steadies.length;
  const configMean = steadyByClass.config ?? 0;
  const ipMean = (steadyByClass.agent ?? 0) + (steadyByClass.interfaces ?? 0);
  const steadyTotals = steadies.map((p) => callsOf(p));

  // Baseline: the portal's status poll, on the same clients' settings, clusters in parallel.
  const clients = fleet.clusters.map((c) => fleet.client(c.id));
  const pollMs: number[] = [];
  let pollCalls = 0;
  for (let i = 0; i < input.baselinePolls; i += 1) {
    const results = await Promise.all(
      clients.map((client, index) => {
        const known: KnownGuest[] = fleet.sim
          .groundTruth(fleet.clusters[index]?.id ?? '')
          .filter((g) => g.status === 'running')
          .map((g) => ({ node: g.node, type: g.type, vmid: g.vmid }));
        return statusPollPass(client, known);
      }),
    );
    for (const r of results) pollMs.push(r.durationMs);
    pollCalls = results.reduce((s, r) => s + r.calls, 0);
  }

  const result: FleetScenarioResult = {
    guests,
    clusters: fleet.clusters.length,
    runningGuests: running.length,
    ipCandidates,
    quick: {
      callsPerCluster: mean(quicks.map((p) => callsOf(p) / Math.max(1, p.clusters.length))),
      calls: mean(quicks.map((p) => callsOf(p))),
      wallS: summarize(quicks.map((p) => p.wallMs / 1000)),
      peakRssMb: Math.max(...quicks.map((p) => p.peakRssBytes)) / MB,
      peakHeapMb: Math.max(...quicks.map((p) => p.peakHeapUsedBytes)) / MB,
      failedRuns: quicks.reduce((s, p) => s + failed(p), 0),
    },
    fullCold: {
      calls: callsOf(cold),
      byClass: callsByClass(cold),
      wallS: cold.wallMs / 1000,
      peakRssMb: cold.peakRssBytes / MB,
      peakHeapMb: cold.peakHeapUsedBytes / MB,
      failedRuns: failed(cold),
    },
    fullSteady: {
      n: steadies.length,
      calls: summarize(steadyTotals.length > 0 ? steadyTotals : [0]),
      configShare: guests === 0 ? 0 : configMean / guests,
      ipCallsMean: ipMean,
      otherCallsMean: mean(steadyTotals) - configMean - ipMean,
      byClassMean: steadyByClass,
      wallS: summarize(steadies.length > 0 ? steadies.map((p) => p.wallMs / 1000) : [0]),
      peakRssMb: steadies.length > 0 ? Math.max(...steadies.map((p) => p.peakRssBytes)) / MB : 0,
      peakHeapMb: steadies.length > 0 ? Math.max(...steadies.map((p) => p.peakHeapUsedBytes)) / MB : 0,
      failedRuns: steadies.reduce((s, p) => s + failed(p), 0),
    },
    baseline: {
      callsPerCluster: pollCalls / Math.max(1, clients.length),
      calls: pollCalls,
      msPerCluster: summarize(pollMs.length > 0 ? pollMs : [0]),
    },
    worker: { idleRssMb: job.idleRssBytes / MB, maxRssMb: job.maxRssBytes / MB },
    job,
  };
  log(
    `  ${guests} guests: quick ${result.quick.callsPerCluster.toFixed(2)} calls/cluster (baseline ${result.baseline.callsPerCluster.toFixed(0)}), full cold ${result.fullCold.calls} calls in ${result.fullCold.wallS.toFixed(1)} s, steady full mean ${result.fullSteady.calls.mean.toFixed(0)} calls (config ${(result.fullSteady.configShare * 100).toFixed(1)}% of guests, IP ${ipMean.toFixed(0)}), quick wall p50 ${result.quick.wallS.p50.toFixed(2)} s`,
  );
  return result;
}

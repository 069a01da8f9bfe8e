/**
 * Child process of the benchmark: runs the sync passes of a job (see harness/sync-job.ts) with the
 * real sync service against the simulator and DynamoDB Local, and prints one JSON report line.
 */
import { performance } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import { localClientConfig } from '#local/dynamodb-local.ts';
import { createDocumentClient } from '#shared/clients/dynamodb.ts';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { createProxmoxClient } from '#shared/proxmox/client.ts';
import { createCapacityMeter } from '../harness/dynamo.ts';
import { createBenchSync } from '../harness/sync.ts';
import { type PassReport, type SyncJobReport, SyncJobSchema } from '../harness/sync-job.ts';
import { startMemorySampler } from '../lib/load.ts';

async function main(): Promise<void> {
  const job = SyncJobSchema.parse(JSON.parse(await text(process.stdin)));
  const file = parseClustersFile(job.clusters, 'benchmark clusters');
  const documentClient = createDocumentClient(localClientConfig(job.endpoint));
  const meter = createCapacityMeter();
  meter.attach(documentClient);
  const sync = createBenchSync({
    clusters: file.clusters,
    client: (id) => {
      const config = file.clusters.find((c) => c.id === id);
      const secret = job.secrets[id];
      if (config === undefined || secret === undefined) throw new RangeError(`no cluster ${id} in the job`);
      return createProxmoxClient(config, { tokenSecret: secret });
    },
    advanceSimulator: async (ms) => {
      const response = await fetch(`${job.controlUrl}/_sim/advance`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ms }),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`simulator refused to advance time: ${response.status}`);
    },
    documentClient,
    tables: job.tables,
  });
  const idleRssBytes = process.memoryUsage().rss;
  const passes: PassReport[] = [];
  for (const step of job.steps) {
    if (step.advanceMsBefore > 0) await sync.clock.advance(step.advanceMsBefore);
    meter.reset();
    const stop = startMemorySampler();
    const t0 = performance.now();
    const pass = await sync.runPass(step.mode, job.concurrency);
    const wallMs = performance.now() - t0;
    const memory = stop();
    const totals = meter.totals();
    passes.push({
      label: step.label,
      mode: step.mode,
      wallMs,
      listClustersMs: pass.listClustersMs,
      recordRunMs: pass.recordRunMs,
      clusters: pass.results.map((r) => ({
        cluster_id: r.summary.cluster_id,
        ok: r.summary.ok,
        ...(r.summary.skipped === undefined ? {} : { skipped: r.summary.skipped }),
        ...(r.summary.error === undefined ? {} : { error: r.summary.error }),
        vms: r.summary.vms,
        changed: r.summary.changed,
        writes: r.summary.writes,
        duration_ms: r.summary.duration_ms,
        calls: { ...r.calls },
        writesByKind: { ...r.writes },
      })),
      wcu: totals.wcu,
      rcu: totals.rcu,
      wcuByTable: totals.wcuByTable,
      writeRequests: totals.writeRequests,
      peakRssBytes: memory.peakRssBytes,
      peakHeapUsedBytes: memory.peakHeapUsedBytes,
    });
  }
  await sync.close();
  documentClient.destroy();
  const report: SyncJobReport = {
    passes,
    idleRssBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `sync worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);

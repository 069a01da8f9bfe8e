import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * A sequence of sync passes run in a child Node process, so that its wall time and peak memory are
 * the sync's own (the simulator and DynamoDB Local run elsewhere, as Proxmox and DynamoDB would).
 * The job goes in on stdin and the report comes back as one JSON line on stdout.
 */

const TablesSchema = z.object({ inventory: z.string(), syncState: z.string(), ownership: z.string() });

/** One pass of the job: optionally move time forward first. */
export const SyncStepSchema = z.object({
  label: z.string(),
  mode: z.enum(['full', 'quick']),
  advanceMsBefore: z.number().int().nonnegative().default(0),
});
export type SyncStep = z.input<typeof SyncStepSchema>;

/** The job the worker reads from stdin. */
export const SyncJobSchema = z.object({
  endpoint: z.string().url(),
  tables: TablesSchema,
  /** Clusters file JSON (contract 1), as the simulator generated it. */
  clusters: z.unknown(),
  secrets: z.record(z.string(), z.string()),
  /** The simulator's control API (moves its time with the engine's clock). */
  controlUrl: z.string().url(),
  concurrency: z.number().int().positive().default(10),
  steps: z.array(SyncStepSchema).min(1),
});
export type SyncJob = z.input<typeof SyncJobSchema>;

const CallsSchema = z.record(z.string(), z.number());

/** What one cluster's run reported. */
export const ClusterRunSchema = z.object({
  cluster_id: z.string(),
  ok: z.boolean(),
  skipped: z.string().optional(),
  error: z.string().optional(),
  vms: z.number(),
  changed: z.number(),
  writes: z.number(),
  duration_ms: z.number(),
  calls: CallsSchema,
  writesByKind: z.record(z.string(), z.number()),
});
export type ClusterRun = z.infer<typeof ClusterRunSchema>;

/** What one pass reported. */
export const PassReportSchema = z.object({
  label: z.string(),
  mode: z.enum(['full', 'quick']),
  wallMs: z.number(),
  listClustersMs: z.number(),
  recordRunMs: z.number(),
  clusters: z.array(ClusterRunSchema),
  wcu: z.number(),
  rcu: z.number(),
  wcuByTable: z.record(z.string(), z.number()),
  writeRequests: z.number(),
  peakRssBytes: z.number(),
  peakHeapUsedBytes: z.number(),
});
export type PassReport = z.infer<typeof PassReportSchema>;

/** The worker's answer. */
export const SyncJobReportSchema = z.object({
  passes: z.array(PassReportSchema),
  /** RSS of the worker once loaded, before any pass. */
  idleRssBytes: z.number(),
  /** Peak RSS of the worker's whole life (getrusage). */
  maxRssBytes: z.number(),
});
export type SyncJobReport = z.infer<typeof SyncJobReportSchema>;

/** Thrown when the worker fails or answers something unexpected. */
export class SyncJobError extends Error {
  override readonly name = 'SyncJobError';
}

const workerPath = fileURLToPath(new URL('../workers/sync-worker.ts', import.meta.url));

/** Runs a job in a fresh `node --import tsx` process and returns its validated report. */
export function runSyncJob(job: SyncJob, timeoutMs = 15 * 60_000): Promise<SyncJobReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', workerPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: process.env,
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SyncJobError(`sync worker did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new SyncJobError(`sync worker could not start: ${error.message}`, { cause: error }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new SyncJobError(`sync worker exited with ${code}`));
        return;
      }
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(SyncJobReportSchema.parse(JSON.parse(last)));
      } catch (error) {
        reject(new SyncJobError('sync worker answered no valid report', { cause: error }));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

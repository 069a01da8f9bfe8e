import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { type SampleSummary, summarize } from '../lib/stats.ts';

/**
 * Measurement 5: every Lambda function as the CDK bundles it (synth with bundling on, into a
 * temporary directory), its `index.mjs` size, and the time to import it in a fresh Node process
 * (the module-loading part of a cold start), several runs each.
 */

const SynthFunctionSchema = z.object({
  path: z.string(),
  stack: z.string(),
  memoryMb: z.number(),
  architecture: z.string(),
  assetDir: z.string(),
  bundleBytes: z.number(),
  assetBytes: z.number(),
});

const SynthReportSchema = z.object({
  functions: z.array(SynthFunctionSchema),
  synthError: z.string().nullable(),
  /** The sync state machines as CDK synthesizes them (null if that failed). */
  definitions: z.object({ full: z.unknown(), quick: z.unknown() }).nullable(),
  /** Biggest contributors to the GET /api/vms bundle (esbuild metafile). */
  listVmsComposition: z.array(z.object({ module: z.string(), kb: z.number() })),
  quickSyncSeconds: z.number(),
  fullSyncMinutes: z.number(),
  maxAzs: z.number(),
  secretsManagerEndpoint: z.boolean(),
  secretsManagerEndpointAzs: z.number().int().positive(),
  quickSyncTracing: z.boolean(),
  importedVpc: z.boolean(),
});
export type SynthReport = z.infer<typeof SynthReportSchema>;

/** One function's figures. */
export interface BundleFigures {
  name: string;
  kind: 'api' | 'sync';
  memoryMb: number;
  architecture: string;
  bundleBytes: number;
  /** index.mjs plus its source map, as uploaded */
  assetBytes: number;
  coldImport: SampleSummary | null;
  importError: string | null;
}

/** Result of the bundle measurement. */
export interface BundleResult {
  functions: BundleFigures[];
  synthError: string | null;
  deployment: Omit<SynthReport, 'functions' | 'synthError' | 'definitions' | 'listVmsComposition'>;
  listVmsComposition: SynthReport['listVmsComposition'];
  definitions: SynthReport['definitions'];
}

const workerPath = fileURLToPath(new URL('../workers/synth-worker.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The environment a handler module sees at import (names only; nothing is called). */
const IMPORT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  INVENTORY_TABLE: 'VmInventory',
  SYNC_STATE_TABLE: 'SyncState',
  OWNERSHIP_TABLE: 'Ownership',
};

/** Synthesizes with bundling and measures each function's bundle and cold import. */
export async function measureBundles(importRuns: number, log: (line: string) => void): Promise<BundleResult> {
  // Inside the project's node_modules/.cache: the bundles leave `@aws-sdk/*` to the Lambda runtime,
  // and from here an import resolves it from the project's node_modules, standing in for the SDK the
  // Node.js 22 runtime provides (the bundle sizes exclude it, as deployed).
  const cacheDir = join(projectRoot, 'node_modules', '.cache');
  mkdirSync(cacheDir, { recursive: true });
  const outdir = mkdtempSync(join(cacheDir, 'pve-bench-synth-'));
  try {
    const synth = await runNode(
      ['--import', 'tsx', workerPath, outdir],
      { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      5 * 60_000,
    );
    const last = synth.out.trim().split('\n').at(-1) ?? '';
    let report: SynthReport;
    try {
      report = SynthReportSchema.parse(JSON.parse(last));
    } catch {
      throw new Error(
        `CDK synth with bundling failed (exit ${synth.code}): ${synth.err
          .split('\n')
          .filter((l) => /Error|«/.test(l))
          .slice(0, 3)
          .join(' | ')}`,
      );
    }
    const functions: BundleFigures[] = [];
    for (const f of report.functions) {
      const name = f.path.replace(/\/Function$/, '');
      const url = pathToFileURL(join(f.assetDir, 'index.mjs')).href;
      const samples: number[] = [];
      let importError: string | null = null;
      for (let i = 0; i < importRuns; i += 1) {
        const script = `const t = performance.now(); await import(${JSON.stringify(url)}); process.stdout.write(String(performance.now() - t));`;
        const r = await runNode(['--input-type=module', '-e', script], IMPORT_ENV, 60_000);
        const ms = Number(r.out.trim());
        if (r.code !== 0 || !Number.isFinite(ms)) {
          importError =
            r.err
              .split('\n')
              .find((l) => l.trim() !== '')
              ?.slice(0, 200) ?? `exit ${r.code}`;
          break;
        }
        samples.push(ms);
      }
      const figures: BundleFigures = {
        name,
        kind: f.stack.includes('Api') ? 'api' : 'sync',
        memoryMb: f.memoryMb,
        architecture: f.architecture,
        bundleBytes: f.bundleBytes,
        assetBytes: f.assetBytes,
        coldImport: samples.length > 0 ? summarize(samples) : null,
        importError,
      };
      log(
        `  ${name}: ${(f.bundleBytes / 1024).toFixed(0)} KB, cold import p50 ${figures.coldImport?.p50.toFixed(0) ?? '-'} ms${importError ? ` (import failed: ${importError})` : ''}`,
      );
      functions.push(figures);
    }
    const { functions: _f, synthError, definitions, listVmsComposition, ...deployment } = report;
    return { functions, synthError, deployment, definitions, listVmsComposition };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

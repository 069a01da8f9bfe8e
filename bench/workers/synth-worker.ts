/**
 * Child process of the benchmark: builds the CDK app with bundling ON into the given directory (as
 * `cdk synth` does) and prints one JSON line listing every Lambda function with its bundled asset.
 * Runs apart from the benchmark so CDK's memory and any synth failure stay out of it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { buildSync } from 'esbuild';
import * as z from 'zod';
import { buildApp } from '#infra/build-app.ts';
import { loadDeploymentConfig } from '#infra/config.ts';
import { synthesizeSyncDefinitions } from '#local/stepfunctions/synthesize-sync.ts';
import { routes } from '#shared/http/routes.ts';

interface SynthFunction {
  path: string;
  stack: string;
  memoryMb: number;
  architecture: string;
  assetDir: string;
  bundleBytes: number;
  assetBytes: number;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

const outdir = process.argv[2];
if (outdir === undefined) throw new Error('usage: synth-worker <outdir>');
// The CDK CLI hands the app cdk.json's context (e.g. the example clusters' `proxmoxCidrs`): so does this.
const cdkJson = z
  .object({ context: z.record(z.string(), z.unknown()).optional() })
  .parse(JSON.parse(readFileSync(fileURLToPath(new URL('../../cdk.json', import.meta.url)), 'utf8')));
const app = new App({ outdir, context: cdkJson.context ?? {} });
const config = loadDeploymentConfig(app);
let synthError: string | null = null;
try {
  buildApp(app);
  app.synth();
} catch (error) {
  // Bundling happens when each function is constructed: the functions built before a failure are
  // still measured, and the failure is reported.
  synthError = error instanceof Error ? error.message.slice(0, 500) : String(error);
}
const functions: SynthFunction[] = [];
for (const construct of app.node.findAll()) {
  if (!(construct instanceof NodejsFunction)) continue;
  const cfn = construct.node.defaultChild;
  if (!(cfn instanceof CfnFunction)) continue;
  const code = cfn.code;
  const s3Key = 's3Key' in code && typeof code.s3Key === 'string' ? code.s3Key : null;
  if (s3Key === null) continue;
  const assetDir = join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
  const memory = cfn.memorySize;
  functions.push({
    path: construct.node.path,
    stack: construct.stack.stackName,
    memoryMb: typeof memory === 'number' ? memory : 128,
    architecture: Array.isArray(cfn.architectures) ? String(cfn.architectures[0] ?? 'x86_64') : 'x86_64',
    assetDir,
    bundleBytes: statSync(join(assetDir, 'index.mjs')).size,
    assetBytes: dirBytes(assetDir),
  });
}
// When the app could not be built (a handler entry missing while it is being written), every API
// route whose function was not constructed is bundled with esbuild using PveFunction's settings.
const projectRoot = new URL('../../', import.meta.url).pathname;
const BANNER =
  "import { createRequire as pveCreateRequire } from 'node:module'; const require = pveCreateRequire(import.meta.url);";
if (synthError !== null) {
  const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);
  const seen = new Set<string>();
  for (const route of Object.values(routes)) {
    if (seen.has(route.handler)) continue;
    seen.add(route.handler);
    if (functions.some((f) => f.path.endsWith(`/${pascal(route.id)}/Function`))) continue;
    const entry = join(projectRoot, route.handler);
    if (!existsSync(entry)) continue;
    const assetDir = join(outdir, `esbuild.${route.id}`);
    mkdirSync(assetDir, { recursive: true });
    try {
      buildSync({
        entryPoints: [entry],
        outfile: join(assetDir, 'index.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        // As PveFunction: the AWS SDK comes from the Node.js 22 runtime.
        external: ['@aws-sdk/*'],
        minify: true,
        sourcemap: true,
        banner: { js: BANNER },
        logLevel: 'silent',
      });
    } catch {
      continue;
    }
    functions.push({
      path: `PveInventoryApi/Handlers/${pascal(route.id)} (esbuild, PveFunction settings)/Function`,
      stack: 'PveInventoryApi',
      memoryMb: 512,
      architecture: 'arm64',
      assetDir,
      bundleBytes: statSync(join(assetDir, 'index.mjs')).size,
      assetBytes: dirBytes(assetDir),
    });
  }
}

/** The biggest contributors (package or project folder) to the GET /api/vms bundle, in KB. */
function compositionOf(entry: string): { module: string; kb: number }[] {
  const result = buildSync({
    entryPoints: [join(projectRoot, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    minify: true,
    write: false,
    metafile: true,
    outfile: join(outdir ?? '.', 'composition.mjs'),
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const sizes = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
    sizes.set(pkg, (sizes.get(pkg) ?? 0) + input.bytesInOutput);
  }
  return [...sizes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([module, bytes]) => ({ module, kb: Math.round(bytes / 1024) }));
}
let composition: { module: string; kb: number }[] = [];
try {
  composition = compositionOf(routes.listVms.handler);
} catch {
  composition = [];
}

let definitions: { full: unknown; quick: unknown } | null = null;
try {
  definitions = synthesizeSyncDefinitions({
    config: { quickSyncSeconds: config.quickSyncSeconds, fullSyncMinutes: config.fullSyncMinutes },
  });
} catch {
  definitions = null;
}
process.stdout.write(
  `${JSON.stringify({ functions, synthError, definitions, listVmsComposition: composition, quickSyncSeconds: config.quickSyncSeconds, fullSyncMinutes: config.fullSyncMinutes, maxAzs: config.maxAzs, secretsManagerEndpoint: config.secretsManagerEndpoint ?? config.vpc === undefined, secretsManagerEndpointAzs: config.secretsManagerEndpointAzs, quickSyncTracing: config.quickSyncTracing, importedVpc: config.vpc !== undefined })}\n`,
);

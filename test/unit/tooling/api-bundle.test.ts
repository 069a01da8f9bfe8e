import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** esbuild's metafile of a handler bundled as the CDK does (ESM, AWS SDK external). */
async function bundle(entry: string) {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    write: false,
    metafile: true,
    outfile: 'out.mjs',
    logLevel: 'silent',
  });
  return result.metafile;
}

/** The modules esbuild puts into a handler's bundle. */
async function bundledInputs(entry: string): Promise<string[]> {
  return Object.keys((await bundle(entry)).inputs);
}

/** The external modules a bundle imports, by kind (`import-statement` loads at import, `dynamic-import` on use). */
async function externalImports(entry: string): Promise<{ path: string; kind: string }[]> {
  const outputs = Object.values((await bundle(entry)).outputs);
  return outputs.flatMap((output) =>
    output.imports.filter((i) => i.external === true).map((i) => ({ path: i.path, kind: i.kind })),
  );
}

describe('API handler bundles', () => {
  it('leave out the X-Ray SDK (the API middleware has no tracer)', async () => {
    const inputs = await bundledInputs('functions/api/list-vms.ts');
    expect(inputs.some((f) => f.includes('shared/http/middleware.ts'))).toBe(true);
    expect(inputs.filter((f) => /aws-xray-sdk|powertools\/tracer/.test(f))).toEqual([]);
  });

  it('load the Lambda client of the list refresh on use, not at import (cold start)', async () => {
    const imports = await externalImports('functions/api/list-vms.ts');
    const lambda = imports.filter((i) => i.path === '@aws-sdk/client-lambda');
    expect(lambda.length).toBeGreaterThan(0);
    expect(lambda.every((i) => i.kind === 'dynamic-import')).toBe(true);
    // The table client is used by every request: loaded at import, in the init phase.
    expect(imports).toContainEqual({ path: '@aws-sdk/client-dynamodb', kind: 'import-statement' });
  });

  it('keep the tracer in the sync functions', async () => {
    const inputs = await bundledInputs('functions/sync/record-run.ts');
    expect(inputs.some((f) => f.includes('powertools/tracer'))).toBe(true);
  });
});

import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The modules esbuild puts into a handler's bundle, bundled as the CDK does (ESM, AWS SDK external). */
async function bundledInputs(entry: string): Promise<string[]> {
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
  return Object.keys(result.metafile.inputs);
}

describe('API handler bundles', () => {
  it('leave out the X-Ray SDK (the API middleware has no tracer)', async () => {
    const inputs = await bundledInputs('functions/api/list-vms.ts');
    expect(inputs.some((f) => f.includes('shared/http/middleware.ts'))).toBe(true);
    expect(inputs.filter((f) => /aws-xray-sdk|powertools\/tracer/.test(f))).toEqual([]);
  });

  it('keep the tracer in the sync functions', async () => {
    const inputs = await bundledInputs('functions/sync/record-run.ts');
    expect(inputs.some((f) => f.includes('powertools/tracer'))).toBe(true);
  });
});

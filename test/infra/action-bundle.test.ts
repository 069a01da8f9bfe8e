import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The modules esbuild puts into a handler's bundle, with the options the Lambda construct uses. */
async function bundledInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    absWorkingDir: root,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.values(result.metafile.outputs).flatMap((output) => Object.keys(output.inputs));
}

describe('power-action handler bundle', () => {
  it('carries the node:https Proxmox transport, not undici and not the tracer', async () => {
    const inputs = await bundledInputs('functions/api/vm-action.ts');
    expect(inputs.some((path) => path.includes('shared/proxmox/https-transport.ts'))).toBe(true);
    expect(inputs.some((path) => path.includes('shared/proxmox/client-core.ts'))).toBe(true);
    expect(inputs.filter((path) => path.includes('node_modules/undici/'))).toEqual([]);
    expect(inputs.filter((path) => path.includes('@aws-lambda-powertools/tracer'))).toEqual([]);
  });

  it('leaves undici in the sync function, which needs its pools', async () => {
    const inputs = await bundledInputs('functions/sync/sync-cluster.ts');
    expect(inputs.some((path) => path.includes('node_modules/undici/'))).toBe(true);
  });
});

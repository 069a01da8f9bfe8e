import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpProbe } from './sim-client.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pve-sim-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run simulator', () => {
  it('prints the endpoints, writes the config and stops cleanly on SIGTERM', async () => {
    const config = join(dir, 'clusters.json');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'simulator/cli.ts',
        '--clusters',
        '1',
        '--nodes',
        '2',
        '--vms',
        '10',
        '--port',
        '0',
        '--no-probe-listeners',
        '--token',
        'root@pam!cli=6f1c2d3e-aaaa-4bbb-8ccc-111122223333',
        '--write-config',
        config,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 300 && !out.includes('wrote '); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('token id:    root@pam!cli');
    expect(out).toMatch(/fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const written: unknown = JSON.parse(await readFile(config, 'utf8'));
    expect(written).toMatchObject({
      clusters: [
        { id: 'sim-1', tokenId: 'root@pam!cli', tokenSecret: { file: 'clusters.secret' }, simulated: true },
      ],
    });
    expect((await readFile(join(dir, 'clusters.secret'), 'utf8')).trim()).toBe(
      '6f1c2d3e-aaaa-4bbb-8ccc-111122223333',
    );
    const port = Number(/https:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect((await tcpProbe('127.0.0.1', port)).ok).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await tcpProbe('127.0.0.1', port)).toEqual({ ok: false, code: 'ECONNREFUSED' });
  });
});

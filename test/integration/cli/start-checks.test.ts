import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '#local/stack/index.ts';

/**
 * `npm start`'s cheap checks, by running local/start.ts: a taken port, a missing Java and a bad
 * `--config` are reported (all of them) before DynamoDB Local, the simulator or the state machines
 * start, and usage mistakes exit 2.
 */

let dir: string;
let busy: Server;
let busyPort: number;

interface StartRun {
  code: number;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<StartRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'local/start.ts', '--data-dir', join(dir, 'data'), '--in-memory', ...args],
      { cwd: PROJECT_ROOT, env: { ...env, NO_COLOR: '1' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Nothing heavy was started: no progress line of DynamoDB Local, the simulator or the state machines. */
function expectNothingStarted(run: StartRun): void {
  expect(run.stdout).not.toMatch(/simulator started|DynamoDB Local ready|definitions|checks passed/);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-start-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const address = busy.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  busyPort = address.port;
});

afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start checks', () => {
  it('reports a taken port and starts nothing', async () => {
    const run = await start(['--port', String(busyPort)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error: port ${busyPort} is already in use: stop the other process or pass --port N`,
    );
    expectNothingStarted(run);
  });

  it('reports a missing Java together with a taken port', async () => {
    const emptyBin = join(dir, 'empty-bin');
    const run = await start(['--port', String(busyPort)], { ...process.env, PATH: emptyBin });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('DynamoDB Local needs Java 11 or newer');
    expect(run.stderr).toContain(`port ${busyPort} is already in use`);
    expectNothingStarted(run);
  });

  it('lists every problem of a bad clusters.json and names a missing token secret', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        clusters: [
          {
            id: 'lab-a',
            name: 'Lab A',
            endpoints: [{ url: 'http://pve-a:8006' }],
            tokenId: 'x',
            tokenSecret: { env: 'A' },
          },
          { id: 'lab-b', name: 'Lab B', endpoints: [], tokenId: 'root@pam!inv', tokenSecret: { env: 'B' } },
        ],
      }),
    );
    const run = await start(['--port', '19151', '--config', bad]);
    expect(run.code).toBe(1);
    const problems = run.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(run.stderr).toContain('clusters[0].endpoints[0].url');
    expect(run.stderr).toContain('clusters[1].endpoints');
    expectNothingStarted(run);

    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        clusters: [
          {
            id: 'lab-a',
            name: 'Lab A',
            endpoints: [{ url: 'https://127.0.0.1:1' }],
            tokenId: 'root@pam!inv',
            tokenSecret: { env: 'PVE_FIRSTFIVE_UNSET_SECRET' },
          },
          {
            id: 'lab-b',
            name: 'Lab B',
            endpoints: [{ url: 'https://127.0.0.1:2' }],
            tokenId: 'root@pam!inv',
            tokenSecret: { file: 'missing-secret.txt' },
          },
        ],
      }),
    );
    const env = { ...process.env };
    delete env.PVE_FIRSTFIVE_UNSET_SECRET;
    const secrets = await start(['--port', '19151', '--config', good], env);
    expect(secrets.code).toBe(1);
    expect(secrets.stderr).toContain(
      'cluster lab-a: token secret environment variable PVE_FIRSTFIVE_UNSET_SECRET is not set',
    );
    expect(secrets.stderr).toMatch(
      /cluster lab-b: token secret file .*missing-secret\.txt cannot be read \(ENOENT\)/,
    );
    expectNothingStarted(secrets);
  });

  it('accepts only the documented log levels and exits 2 on usage mistakes', async () => {
    const run = await start(['--log-level', 'verbose']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--log-level: expected one of DEBUG, INFO, WARN, ERROR, SILENT, got "verbose"',
    );
    const contradiction = await start(['--demo', '--no-seed']);
    expect(contradiction.code).toBe(2);
    expectNothingStarted(contradiction);
  });
});

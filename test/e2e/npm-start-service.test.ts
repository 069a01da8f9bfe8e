import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as a service manager runs it: the stack is started through npm as a child process,
 * a second start on the same data folder is refused at once, and SIGTERM to npm's own PID stops
 * every process of the stack (npm, the shell, tsx, node, DynamoDB Local's java).
 */

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  NO_COLOR: '1',
};
const dataDir = mkdtempSync(join(tmpdir(), 'pve-npm-start-'));
const started: ChildProcess[] = [];

afterAll(() => {
  // Only if an assertion failed half-way: nothing of this test may outlive it.
  for (const child of started) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(port: number): Running {
  const child = spawn(
    'npm',
    [
      'start',
      '--',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--in-memory',
      '--guests',
      '3',
      '--no-seed',
    ],
    // Its own process group, so that a failed test can still remove everything.
    { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  started.push(child);
  let text = '';
  child.stdout?.on('data', (data: Buffer) => {
    text += data.toString('utf8');
  });
  child.stderr?.on('data', (data: Buffer) => {
    text += data.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every process whose ancestry leads to `root` (Linux /proc). */
function descendants(root: number): Map<number, string> {
  const parents = new Map<number, { ppid: number; command: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      parents.set(Number(entry), { ppid, command });
    } catch {
      // ended while listing
    }
  }
  const found = new Map<number, string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { ppid, command }] of parents) {
      if (!found.has(pid) && (ppid === root || found.has(ppid))) {
        found.set(pid, command);
        grew = true;
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has ended; it only waits to be reaped.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('npm start as a service', () => {
  it('refuses a second stack on the same data folder and stops everything on SIGTERM to npm', async () => {
    const first = npmStart(await freePort());
    await waitFor(() => first.output().includes('API gateway listening'), 'the first stack');
    const npmPid = first.child.pid ?? 0;
    const tree = descendants(npmPid);
    const commands = [...tree.values()];
    expect(commands.some((c) => c.startsWith('java '))).toBe(true);
    expect(commands.some((c) => c.includes('local/start.ts'))).toBe(true);

    // A second stack on the same folder gives up before starting anything, naming the holder.
    const second = npmStart(await freePort());
    expect(await second.exited).toBe(1);
    const holder = /in use by another local stack \(PID (\d+)\)/.exec(second.output());
    expect(holder, second.output()).not.toBeNull();
    expect(tree.has(Number(holder?.[1]))).toBe(true);
    expect(second.output()).not.toContain('DynamoDB Local ready');
    expect(alive(npmPid)).toBe(true);

    // What a service manager does: SIGTERM to the PID it started, npm's.
    process.kill(npmPid, 'SIGTERM');
    await first.exited;
    await waitFor(() => [...tree.keys()].every((pid) => !alive(pid)), 'the stack to stop', 30_000).catch(
      () => {},
    );
    const survivors = [...tree].filter(([pid]) => alive(pid)).map(([pid, command]) => `${pid} ${command}`);
    expect(survivors).toEqual([]);
    expect(first.output()).toContain('SIGTERM: stopping');
  });
});

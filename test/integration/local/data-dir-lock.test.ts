import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError, LOCK_FILE_NAME } from '#local/stack/data-dir-lock.ts';

/** The data folder lock of the local stack, on real files and real PIDs. */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pve-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The PID of a process that has already ended. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(result.stdout);
}

describe('acquireDataDirLock', () => {
  it('refuses a second holder while the first is alive, naming its PID', async () => {
    // This test's own parent (the vitest main process) stands in for another live stack.
    const other = process.ppid;
    await acquireDataDirLock(dir, other);
    const second = acquireDataDirLock(dir);
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(acquireDataDirLock(dir)).rejects.toThrow(`(PID ${other})`);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: other });
  });

  it('takes over a lock left by a process that is gone', async () => {
    const gone = deadPid();
    writeFileSync(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: gone, startedAt: new Date().toISOString() }),
    );
    const lock = await acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('takes over a damaged lock file', async () => {
    writeFileSync(join(dir, LOCK_FILE_NAME), '{"pid":');
    const lock = await acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('lets exactly one of several simultaneous starters win', async () => {
    const sleepers = [0, 1, 2, 3].map(() => spawn('sleep', ['60'], { stdio: 'ignore' }));
    try {
      const pids = sleepers.map((child) => child.pid ?? 0);
      const results = await Promise.allSettled(pids.map((pid) => acquireDataDirLock(dir, pid)));
      const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8')).pid as number;
      expect(pids).toContain(holder);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect(r.reason).toBeInstanceOf(DataDirLockedError);
        expect((r.reason as DataDirLockedError).holderPid).toBe(holder);
      }
    } finally {
      for (const child of sleepers) child.kill();
    }
  });

  it("frees the folder on release, and release never removes another holder's lock", async () => {
    const lock = await acquireDataDirLock(dir);
    await lock.release();
    const next = await acquireDataDirLock(dir, process.ppid);
    await lock.release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.ppid });
    await next.release();
    await expect(acquireDataDirLock(dir)).resolves.toBeDefined();
  });
});

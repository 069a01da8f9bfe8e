import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';

/**
 * An exclusive lock on a local stack's data folder: one DynamoDB Local per database folder, one
 * owner of the state file. The lock is a small JSON file naming the holder's PID, created
 * atomically (written to a unique temporary file, then hard-linked into place, which fails if the
 * lock exists). A lock whose PID is no longer alive (a crashed stack) is taken over.
 */

/** Name of the lock file inside the data folder. */
export const LOCK_FILE_NAME = 'stack.lock';

const LockContentSchema = z.object({ pid: z.number().int().positive(), startedAt: z.iso.datetime() });
type LockContent = z.infer<typeof LockContentSchema>;

/** Another live process holds the data folder. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the data folder ${dataDir} is in use by another local stack (PID ${holderPid}): stop it first, or pass --data-dir with another folder`,
    );
  }
}

/** A held lock. */
export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's lock. */
  release(): Promise<void>;
}

/** Whether a process with this PID exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockContent | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Written through a temporary file and a link, so never half-written: unreadable means damaged.
    return { pid: 0, startedAt: new Date(0).toISOString() };
  }
  const parsed = LockContentSchema.safeParse(json);
  return parsed.success ? parsed.data : { pid: 0, startedAt: new Date(0).toISOString() };
}

/**
 * Takes the lock on `dataDir` for process `pid` (default: this process) or throws
 * {@link DataDirLockedError} naming the live holder. The folder must exist.
 */
export async function acquireDataDirLock(dataDir: string, pid = process.pid): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE_NAME);
  const content: LockContent = { pid, startedAt: new Date().toISOString() };
  const temp = join(dataDir, `.${LOCK_FILE_NAME}.${pid}.${randomUUID().slice(0, 8)}`);
  await writeFile(temp, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, path);
        return {
          path,
          async release() {
            const current = await readLock(path).catch(() => null);
            if (current?.pid === pid && current.startedAt === content.startedAt)
              await rm(path, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLock(path);
      if (holder === null) continue;
      if (holder.pid !== pid && holder.pid > 0 && isProcessAlive(holder.pid)) {
        throw new DataDirLockedError(dataDir, holder.pid);
      }
      // Left by a process that is gone (or damaged): remove it, unless another starter took it
      // over meanwhile, and try again.
      const again = await readLock(path);
      if (again !== null && again.pid === holder.pid && again.startedAt === holder.startedAt) {
        await rm(path, { force: true });
      }
    }
    throw new Error(`could not take the lock ${path}: it keeps changing`);
  } finally {
    await rm(temp, { force: true });
  }
}

import { describe, expect, it } from 'vitest';
import type { OwnershipRepository } from '#shared/store/ports.ts';
import {
  OWNERSHIP_METHODS_LISTED,
  OWNERSHIP_READ_METHODS,
  OWNERSHIP_WRITE_METHODS,
  versionedOwnership,
} from '#shared/store/versioned.ts';

/** An ownership repository that records its calls (the wrapper's wiring only; DynamoDB is tested elsewhere). */
function recordingOwnership(log: string[], failing: ReadonlySet<string> = new Set()): OwnershipRepository {
  const methods = [...OWNERSHIP_WRITE_METHODS, ...OWNERSHIP_READ_METHODS];
  return Object.fromEntries(
    methods.map((name) => [
      name,
      async () => {
        log.push(name);
        if (failing.has(name)) throw new Error(`${name} failed`);
        return { writes: 1, capacityUnits: 1 };
      },
    ]),
  ) as unknown as OwnershipRepository;
}

describe('versioned ownership', () => {
  it('moves the ownership version after every write and never on a read', async () => {
    expect(OWNERSHIP_METHODS_LISTED).toBe(true);
    const log: string[] = [];
    const ownership = versionedOwnership(recordingOwnership(log), {
      bumpOwnershipVersion: async () => {
        log.push('bump');
        return { writes: 1, capacityUnits: 1 };
      },
    });
    for (const name of OWNERSHIP_WRITE_METHODS) {
      log.length = 0;
      await (ownership[name] as () => Promise<unknown>)();
      expect(log, name).toEqual([name, 'bump']);
    }
    for (const name of OWNERSHIP_READ_METHODS) {
      log.length = 0;
      await (ownership[name] as () => Promise<unknown>)();
      expect(log, name).toEqual([name]);
    }
  });

  it('leaves the version alone when a write wrote nothing', async () => {
    let bumps = 0;
    const base = recordingOwnership([]);
    const ownership = versionedOwnership(
      {
        ...base,
        suspendVm: async () => ({ writes: 0, capacityUnits: 0 }),
        deleteAssignment: async () => false,
      },
      {
        bumpOwnershipVersion: async () => {
          bumps++;
          return { writes: 1, capacityUnits: 1 };
        },
      },
    );
    await ownership.suspendVm({ cluster_id: 'c', vmid: 1 }, 0);
    await ownership.deleteAssignment({ username: 'u', cluster_id: 'c', vmid: 1, source: 'admin' });
    expect(bumps).toBe(0);
  });

  it('moves it after a failed write too (part of it may have landed), and rethrows', async () => {
    const log: string[] = [];
    const ownership = versionedOwnership(recordingOwnership(log, new Set(['deleteClass'])), {
      bumpOwnershipVersion: async () => {
        log.push('bump');
        return { writes: 1, capacityUnits: 1 };
      },
    });
    await expect(ownership.deleteClass('c')).rejects.toThrow('deleteClass failed');
    expect(log).toEqual(['deleteClass', 'bump']);
  });
});

import { describe, expect, it } from 'vitest';
import { canSeeVm, collectVisibleKeys } from '#shared/api/visibility.ts';
import type { Assignment, ClassMember, ClassVm } from '#shared/domain/ownership.ts';
import type { Caller } from '#shared/http/identity.ts';

const assignment = (username: string, cluster_id: string, vmid: number, suspended = false): Assignment => ({
  username,
  cluster_id,
  vmid,
  source: 'admin',
  class_id: null,
  suspended,
  suspended_at: suspended ? 1 : null,
  created_at: 0,
});
const link = (class_id: string, cluster_id: string, vmid: number, suspended = false): ClassVm => ({
  class_id,
  cluster_id,
  vmid,
  student: null,
  suspended,
});
const caller = (username: string, admin = false, teacher = false): Caller => ({
  username,
  roles: { admin, teacher },
});

describe('collectVisibleKeys', () => {
  it('keeps own and taught VMs, drops suspended ones, deduplicates by (cluster, vmid)', () => {
    const keys = collectVisibleKeys(
      [
        assignment('alice', 'lab-a', 101),
        assignment('alice', 'lab-a', 101),
        assignment('alice', 'lab-b', 150, true),
      ],
      [link('c1', 'lab-b', 101), link('c1', 'lab-a', 101), link('c1', 'lab-c', 7, true)],
    );
    expect(keys).toEqual([
      { cluster_id: 'lab-a', vmid: 101 },
      { cluster_id: 'lab-b', vmid: 101 },
    ]);
  });
});

describe('canSeeVm', () => {
  const teaches: ClassMember[] = [{ class_id: 'c1', username: 'carol', role: 'teacher' }];
  const attends: ClassMember[] = [{ class_id: 'c1', username: 'alice', role: 'student' }];

  it('lets admins see everything', () => {
    expect(canSeeVm(caller('dave', true), [], [], [])).toBe(true);
  });

  it('lets an owner see their VM, not after suspension, and never another user', () => {
    expect(canSeeVm(caller('alice'), [assignment('alice', 'lab-a', 101)], [], [])).toBe(true);
    expect(canSeeVm(caller('alice'), [assignment('alice', 'lab-a', 101, true)], [], [])).toBe(false);
    expect(canSeeVm(caller('bob'), [assignment('alice', 'lab-a', 101)], [], [])).toBe(false);
  });

  it("lets a class's teacher see its VMs, but not its students", () => {
    expect(canSeeVm(caller('carol', false, true), [], [link('c1', 'lab-a', 101)], teaches)).toBe(true);
    expect(canSeeVm(caller('carol', false, true), [], [link('c1', 'lab-a', 101, true)], teaches)).toBe(false);
    expect(canSeeVm(caller('alice'), [], [link('c1', 'lab-a', 101)], attends)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  classRelation,
  newClassId,
  pageAssignments,
  requireClassManager,
  requireMemberChange,
  toClassResponse,
} from '#shared/api/ownership-views.ts';
import type { Assignment, ClassDetails } from '#shared/domain/ownership.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';

const details: ClassDetails = {
  info: { class_id: 'net-1', name: 'Net', description: null, owner: 'carol', created_at: 0 },
  teachers: ['carol', 'tom'],
  students: ['bob', 'alice'],
  vms: [
    { class_id: 'net-1', cluster_id: 'lab-a', vmid: 102, student: 'alice', suspended: false },
    { class_id: 'net-1', cluster_id: 'lab-a', vmid: 101, student: 'bob', suspended: false },
  ],
};
const caller = (username: string, admin = false, teacher = false): Caller => ({
  username,
  roles: { admin, teacher },
});
const teacher = (username: string): Caller => caller(username, false, true);

describe('classes', () => {
  it('shows a student only themselves and their VMs', () => {
    const view = toClassResponse(details, caller('alice'));
    expect(view.students).toEqual(['alice']);
    expect(view.vms.map((vm) => vm.vmid)).toEqual([102]);
    expect(toClassResponse(details, teacher('carol')).students).toEqual(['alice', 'bob']);
    expect(toClassResponse(details, teacher('carol')).owner).toBe('carol');
  });

  it('gives teacher powers only to a listed teacher who also carries the teacher group', () => {
    expect(classRelation(teacher('carol'), details)).toBe('teacher');
    // Listed as a teacher, but the token has no teacher group: a student's view and no powers.
    expect(classRelation(caller('carol'), details)).toBe('student');
    expect(toClassResponse(details, caller('carol')).students).toEqual([]);
    expect(() => requireClassManager(caller('carol'), details)).toThrow(ForbiddenError);
    // The teacher group without the class's teacher membership: no relation to this class.
    expect(classRelation(teacher('alice'), details)).toBe('student');
    expect(classRelation(teacher('eve'), details)).toBe('none');
  });

  it('lets only admins and the class owner grant, change or remove the teacher role', () => {
    const set = (role: 'teacher' | 'student') => ({ kind: 'set', role }) as const;
    expect(() => requireMemberChange(teacher('tom'), details, 'alice', set('teacher'))).toThrow(
      ForbiddenError,
    );
    expect(() => requireMemberChange(teacher('tom'), details, 'carol', { kind: 'remove' })).toThrow(
      ConflictError,
    );
    expect(() => requireMemberChange(teacher('tom'), details, 'tom', set('student'))).toThrow(ForbiddenError);
    expect(() => requireMemberChange(teacher('tom'), details, 'dan', set('student'))).not.toThrow();
    expect(() => requireMemberChange(teacher('tom'), details, 'bob', { kind: 'remove' })).not.toThrow();
    expect(() => requireMemberChange(teacher('carol'), details, 'alice', set('teacher'))).not.toThrow();
    expect(() => requireMemberChange(teacher('carol'), details, 'tom', { kind: 'remove' })).not.toThrow();
    expect(() => requireMemberChange(caller('dave', true), details, 'tom', set('student'))).not.toThrow();
    // The owner is never removed or demoted, not even by an admin or by themselves.
    for (const who of [caller('dave', true), teacher('carol')]) {
      expect(() => requireMemberChange(who, details, 'carol', { kind: 'remove' })).toThrow(ConflictError);
      expect(() => requireMemberChange(who, details, 'carol', set('student'))).toThrow(ConflictError);
    }
  });

  it('lets admins and teachers manage a class: 403 for its students, 404 for others', () => {
    expect(requireClassManager(teacher('carol'), details)).toBe(details);
    expect(requireClassManager(caller('dave', true), details)).toBe(details);
    expect(() => requireClassManager(caller('alice'), details)).toThrow(ForbiddenError);
    expect(() => requireClassManager(caller('eve'), details)).toThrow(NotFoundError);
    expect(() => requireClassManager(caller('dave', true), null)).toThrow(NotFoundError);
  });

  it('makes class ids from the name', () => {
    expect(newClassId('Networking 101 (Fall)', () => 'abc123')).toBe('networking-101-fall-abc123');
    expect(newClassId('ÄÖÜ', () => 'abc123')).toBe('aou-abc123');
    expect(newClassId('!!!', () => 'abc123')).toBe('class-abc123');
    expect(newClassId('x'.repeat(100))).toMatch(/^[a-z0-9][a-z0-9_-]{0,63}$/);
  });
});

describe('pageAssignments', () => {
  const a = (username: string, vmid: number): Assignment => ({
    username,
    cluster_id: 'lab-a',
    vmid,
    source: 'admin',
    class_id: null,
    suspended: false,
    suspended_at: null,
    created_at: 0,
  });

  it('pages in order without duplicate or gap', () => {
    const all = [a('bob', 1000), a('alice', 200), a('alice', 1000), a('bob', 300)];
    const first = pageAssignments(all, 3, undefined);
    expect(first.page.map((x) => `${x.username}:${x.vmid}`)).toEqual(['alice:200', 'alice:1000', 'bob:300']);
    const second = pageAssignments(all, 3, first.nextCursor ?? undefined);
    expect(second.page.map((x) => `${x.username}:${x.vmid}`)).toEqual(['bob:1000']);
    expect(second.nextCursor).toBeNull();
  });
});

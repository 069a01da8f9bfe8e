import { describe, expect, it } from 'vitest';
import {
  newClassId,
  pageAssignments,
  requireClassManager,
  toClassResponse,
} from '#shared/api/ownership-views.ts';
import type { Assignment, ClassDetails } from '#shared/domain/ownership.ts';
import { ForbiddenError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';

const details: ClassDetails = {
  info: { class_id: 'net-1', name: 'Net', description: null, created_at: 0 },
  teachers: ['carol'],
  students: ['bob', 'alice'],
  vms: [
    { class_id: 'net-1', cluster_id: 'lab-a', vmid: 102, student: 'alice', suspended: false },
    { class_id: 'net-1', cluster_id: 'lab-a', vmid: 101, student: 'bob', suspended: false },
  ],
};
const caller = (username: string, admin = false): Caller => ({ username, roles: { admin, teacher: false } });

describe('classes', () => {
  it('shows a student only themselves and their VMs', () => {
    const view = toClassResponse(details, caller('alice'));
    expect(view.students).toEqual(['alice']);
    expect(view.vms.map((vm) => vm.vmid)).toEqual([102]);
    expect(toClassResponse(details, caller('carol')).students).toEqual(['alice', 'bob']);
  });

  it('lets admins and teachers manage a class: 403 for its students, 404 for others', () => {
    expect(requireClassManager(caller('carol'), details)).toBe(details);
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

import { randomBytes } from 'node:crypto';
import type { Assignment, ClassDetails } from '#shared/domain/ownership.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { AssignmentResponseItem, ClassResponse } from '#shared/http/schemas/ownership.ts';

/**
 * Ownership answers and rules, pure: the API shapes of assignments and classes, who may see and
 * manage a class, and class ids.
 */

/** An assignment as the API answers it. */
export function toAssignmentResponse(assignment: Assignment): AssignmentResponseItem {
  return {
    username: assignment.username,
    cluster_id: assignment.cluster_id,
    vmid: assignment.vmid,
    source: assignment.source,
    class_id: assignment.class_id,
    suspended: assignment.suspended,
    created_at: new Date(assignment.created_at).toISOString(),
  };
}

/** The listing's sort key of an assignment: user, cluster, VMID, source, class. */
export function assignmentSortKey(
  x: Pick<Assignment, 'username' | 'cluster_id' | 'vmid' | 'source' | 'class_id'>,
): string {
  return [x.username, x.cluster_id, String(x.vmid).padStart(10, '0'), x.source, x.class_id ?? ''].join(
    '\u0000',
  );
}

/** One page of assignments in {@link assignmentSortKey} order, after the opaque `cursor`. */
export function pageAssignments(
  assignments: readonly Assignment[],
  limit: number,
  cursor: string | undefined,
): { page: Assignment[]; nextCursor: string | null } {
  let after: string | null = null;
  if (cursor !== undefined) {
    after = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!after.includes('\u0000')) {
      throw new BadRequestError('Invalid cursor', [
        { field: 'query.cursor', message: 'must be a cursor returned by a previous page' },
      ]);
    }
  }
  const sorted = assignments
    .map((assignment) => ({ assignment, key: assignmentSortKey(assignment) }))
    .filter((entry) => after === null || entry.key > after)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = sorted.slice(0, limit);
  const last = page[page.length - 1];
  return {
    page: page.map((entry) => entry.assignment),
    nextCursor:
      sorted.length > limit && last !== undefined
        ? Buffer.from(last.key, 'utf8').toString('base64url')
        : null,
  };
}

/** The caller's relation to a class. */
export type ClassRelation = 'admin' | 'teacher' | 'student' | 'none';

/** How the caller relates to a class (admins first). */
export function classRelation(caller: Caller, details: ClassDetails): ClassRelation {
  if (caller.roles.admin) return 'admin';
  if (details.teachers.includes(caller.username)) return 'teacher';
  if (details.students.includes(caller.username)) return 'student';
  return 'none';
}

/**
 * Throws unless the caller may manage the class (admins and its teachers): 404 for non-members
 * (never reveal that a class exists), 403 for its students.
 */
export function requireClassManager(caller: Caller, details: ClassDetails | null): ClassDetails {
  if (details === null) throw new NotFoundError('Class not found');
  const relation = classRelation(caller, details);
  if (relation === 'none') throw new NotFoundError('Class not found');
  if (relation === 'student') throw new ForbiddenError("Only admins and the class's teachers manage it");
  return details;
}

/**
 * A class as the caller may see it: admins and teachers see everything; a student sees the
 * teachers, themselves and their own VMs only (other students are not theirs to know).
 */
export function toClassResponse(details: ClassDetails, caller: Caller): ClassResponse {
  const relation = classRelation(caller, details);
  const full = relation === 'admin' || relation === 'teacher';
  const vms = details.vms
    .filter((vm) => full || vm.student === caller.username)
    .map((vm) => ({ cluster_id: vm.cluster_id, vmid: vm.vmid, student: vm.student, suspended: vm.suspended }))
    .sort((a, b) => (a.cluster_id === b.cluster_id ? a.vmid - b.vmid : a.cluster_id < b.cluster_id ? -1 : 1));
  return {
    class_id: details.info.class_id,
    name: details.info.name,
    description: details.info.description,
    created_at: new Date(details.info.created_at).toISOString(),
    teachers: [...details.teachers].sort(),
    students: full ? [...details.students].sort() : details.students.filter((s) => s === caller.username),
    vms,
  };
}

/** A new class id: a slug of the name and a random suffix, e.g. `networking-101-3f9a2c`. */
export function newClassId(
  name: string,
  random: () => string = () => randomBytes(3).toString('hex'),
): string {
  const slug = name
    .normalize('NFKD')
    // Accents become their base letters (NFKD splits them off as combining marks).
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug === '' ? `class-${random()}` : `${slug}-${random()}`;
}

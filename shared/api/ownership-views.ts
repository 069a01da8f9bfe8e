import { randomBytes } from 'node:crypto';
import type { Assignment, ClassDetails, ClassRole } from '#shared/domain/ownership.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '#shared/http/errors.ts';
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

/**
 * How the caller relates to a class (admins first). Teacher powers need both the identity's teacher
 * group and the class's teacher membership: a member listed as a teacher without the group (e.g. a
 * student promoted by mistake) relates to the class as a student, with no powers.
 */
export function classRelation(caller: Caller, details: ClassDetails): ClassRelation {
  if (caller.roles.admin) return 'admin';
  const listedTeacher = details.teachers.includes(caller.username);
  if (listedTeacher && caller.roles.teacher) return 'teacher';
  if (listedTeacher || details.students.includes(caller.username)) return 'student';
  return 'none';
}

/** Whether the caller is the class owner with teacher powers in the class. */
export function isActingClassOwner(caller: Caller, details: ClassDetails): boolean {
  return classRelation(caller, details) === 'teacher' && details.info.owner === caller.username;
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

/** A change of one membership: set a role, or remove the member. */
export type MemberChange = { readonly kind: 'set'; readonly role: ClassRole } | { readonly kind: 'remove' };

/**
 * Throws unless the caller may make a membership change (after {@link requireClassManager}):
 * - the teacher role is granted, changed or removed only by admins and the class owner (403 for
 *   other teachers, who manage students only);
 * - nobody removes or demotes the class owner (409: an admin names another owner first).
 */
export function requireMemberChange(
  caller: Caller,
  details: ClassDetails,
  username: string,
  change: MemberChange,
): void {
  const owner = details.info.owner;
  if (owner !== null && username === owner && (change.kind === 'remove' || change.role !== 'teacher')) {
    throw new ConflictError(
      'The class owner cannot be removed or demoted; an admin names another owner first (PUT /api/classes/{classId} {"owner"})',
    );
  }
  if (caller.roles.admin || isActingClassOwner(caller, details)) return;
  const touchesTeacher =
    details.teachers.includes(username) || (change.kind === 'set' && change.role === 'teacher');
  if (touchesTeacher)
    throw new ForbiddenError('Only admins and the class owner grant or remove the teacher role');
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
    owner: details.info.owner,
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

import type { Assignment, ClassMember, ClassVm } from '#shared/domain/ownership.ts';
import type { VmKey } from '#shared/domain/vm-record.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { OwnershipRepository } from '#shared/store/ports.ts';

/**
 * Visibility rules: which (cluster_id, vmid) a caller sees. Admins see every VM; anyone else sees
 * the VMs assigned to them (suspended assignments excluded: a VMID reused after its guest was
 * removed is never shown to the old owner) and, as a teacher (teacher group and the class's teacher
 * membership), the VMs of the classes they teach (suspended class links excluded). Identity is always the pair: the same VMID on another cluster
 * is another VM.
 */

/** What a caller may see: everything, or exactly these keys. */
export type VisibleScope = { readonly all: true } | { readonly all: false; readonly keys: readonly VmKey[] };

/** The map key of a VM. */
export function vmKeyString(key: VmKey): string {
  return `${key.cluster_id}#${key.vmid}`;
}

/** The keys a non-admin sees, deduplicated, from their assignments and their taught classes' VMs. */
export function collectVisibleKeys(
  assignments: readonly Assignment[],
  taughtClassVms: readonly ClassVm[],
): VmKey[] {
  const keys = new Map<string, VmKey>();
  for (const assignment of assignments) {
    if (assignment.suspended) continue;
    keys.set(vmKeyString(assignment), { cluster_id: assignment.cluster_id, vmid: assignment.vmid });
  }
  for (const link of taughtClassVms) {
    if (link.suspended) continue;
    keys.set(vmKeyString(link), { cluster_id: link.cluster_id, vmid: link.vmid });
  }
  return [...keys.values()];
}

/**
 * The classes whose VMs the caller sees as a teacher: their teacher memberships, but only when the
 * identity carries the teacher group too (a membership alone grants nothing).
 */
export function taughtClasses(caller: Caller, memberships: readonly ClassMember[]): ClassMember[] {
  if (!caller.roles.teacher) return [];
  return memberships.filter((member) => member.role === 'teacher');
}

/**
 * Whether a caller sees one VM, from the VM's owners and class links (both read by VM key) and the
 * classes the caller teaches.
 */
export function canSeeVm(
  caller: Caller,
  owners: readonly Assignment[],
  vmClasses: readonly ClassVm[],
  callerClasses: readonly ClassMember[],
): boolean {
  if (caller.roles.admin) return true;
  if (owners.some((owner) => owner.username === caller.username && !owner.suspended)) return true;
  const taught = new Set(taughtClasses(caller, callerClasses).map((member) => member.class_id));
  return vmClasses.some((link) => !link.suspended && taught.has(link.class_id));
}

/** Reads what a caller may see through the ownership repository (queries by user, never a scan). */
export async function resolveVisibleScope(
  caller: Caller,
  ownership: OwnershipRepository,
): Promise<VisibleScope> {
  if (caller.roles.admin) return { all: true };
  const [assignments, memberships] = await Promise.all([
    ownership.listAssignmentsOfUser(caller.username),
    ownership.listClassesOfUser(caller.username),
  ]);
  const taught = taughtClasses(caller, memberships);
  const classes = await Promise.all(taught.map((member) => ownership.getClass(member.class_id)));
  const classVms = classes.flatMap((details) => details?.vms ?? []);
  return { all: false, keys: collectVisibleKeys(assignments, classVms) };
}

/** Whether a caller sees one VM (reads by VM key and by user: three queries, no scan). */
export async function callerSeesVm(
  caller: Caller,
  key: VmKey,
  ownership: OwnershipRepository,
): Promise<boolean> {
  if (caller.roles.admin) return true;
  const [owners, vmClasses, callerClasses] = await Promise.all([
    ownership.listOwnersOfVm(key),
    ownership.listClassesOfVm(key),
    ownership.listClassesOfUser(caller.username),
  ]);
  return canSeeVm(caller, owners, vmClasses, callerClasses);
}

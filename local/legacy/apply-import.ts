import type { OwnershipRepository } from '#shared/store/ports.ts';
import type { LegacyImportPlan } from './plan-import.ts';

/** What an import wrote. */
export interface LegacyImportResult {
  classes: number;
  members: number;
  classVms: number;
  assignments: number;
}

/**
 * Writes an import plan through the ownership repository: classes, their teachers and students,
 * their VMs (with the student's class assignment) and the direct assignments (source `admin`).
 * Idempotent: importing the same database twice writes the same items.
 */
export async function applyLegacyImport(
  ownership: OwnershipRepository,
  plan: LegacyImportPlan,
  nowMs: number,
): Promise<LegacyImportResult> {
  const result: LegacyImportResult = { classes: 0, members: 0, classVms: 0, assignments: 0 };
  for (const planned of plan.classes) {
    await ownership.putClass({
      class_id: planned.class_id,
      name: planned.name,
      description: planned.description === null ? null : planned.description.slice(0, 2000),
      owner: planned.teachers[0] ?? null,
      created_at: nowMs,
    });
    result.classes++;
    for (const teacher of planned.teachers) {
      await ownership.addClassMember(planned.class_id, teacher, 'teacher');
      result.members++;
    }
    for (const student of planned.students) {
      // A co-owner who is also enrolled stays a teacher.
      if (planned.teachers.includes(student)) continue;
      await ownership.addClassMember(planned.class_id, student, 'student');
      result.members++;
    }
    for (const vm of planned.vms) {
      await ownership.assignClassVm(
        planned.class_id,
        { cluster_id: vm.cluster_id, vmid: vm.vmid },
        vm.student,
        nowMs,
      );
      result.classVms++;
    }
  }
  if (plan.assignments.length > 0) {
    await ownership.putAssignments(
      plan.assignments.map((a) => ({ ...a, source: 'admin' as const, created_at: nowMs })),
    );
    result.assignments = plan.assignments.length;
  }
  return result;
}

/** The plan as text: what would be (or was) imported, and what is left out and why. */
export function formatLegacyPlan(plan: LegacyImportPlan): string {
  const lines: string[] = [];
  lines.push(
    `${plan.classes.length} classes, ${plan.classes.reduce((n, c) => n + c.vms.length, 0)} class VMs, ${plan.assignments.length} direct assignments`,
  );
  for (const c of plan.classes) {
    lines.push(
      `  class ${c.class_id} "${c.name}": teachers ${c.teachers.join(', ') || '-'}; students ${c.students.join(', ') || '-'}`,
    );
    for (const vm of c.vms)
      lines.push(`    VM ${vm.cluster_id}:${vm.vmid} → ${vm.student ?? '(unassigned: teachers only)'}`);
  }
  for (const a of plan.assignments) lines.push(`  assignment ${a.username} ← ${a.cluster_id}:${a.vmid}`);
  if (plan.admins.length > 0) {
    lines.push(
      `admins of the old portal (not imported: add them to the identity provider's admins group): ${plan.admins.join(', ')}`,
    );
  }
  if (plan.teachers.length > 0) {
    lines.push(`teachers of the old portal (they need the teachers group): ${plan.teachers.join(', ')}`);
  }
  if (plan.unresolvable.length > 0) {
    lines.push(`${plan.unresolvable.length} unresolvable (not imported):`);
    for (const row of plan.unresolvable) lines.push(`  ${row.what}: ${row.reason}`);
  }
  if (plan.skipped.length > 0) {
    lines.push(`${plan.skipped.length} skipped:`);
    for (const row of plan.skipped) lines.push(`  ${row.what}: ${row.reason}`);
  }
  return lines.join('\n');
}

import { DEFAULT_REALM_SUFFIXES, tryNormalizeUsername } from '#shared/auth/usernames.ts';
import { ClusterIdSchema, VmidSchema } from '#shared/domain/vm-record.ts';
import type { LegacyData } from './read-legacy-db.ts';

/**
 * Maps the original portal's ownership (classes, enrollments, co-owners, VM assignments) to
 * pve-inventory's model. Pure. The cluster of a VM is its class's `deployment_cluster`, else the
 * `--cluster` option; without either, the row is reported as unresolvable — never guessed, because
 * the same VMID exists on several clusters.
 */

/** A class to create, with its members and VMs. */
export interface PlannedClass {
  readonly class_id: string;
  readonly legacy_id: number;
  readonly name: string;
  readonly description: string | null;
  readonly teachers: string[];
  readonly students: string[];
  /** VMs of the class; `student` null for VMs nobody holds yet (the teachers see them) */
  readonly vms: { cluster_id: string; vmid: number; student: string | null }[];
}

/** A direct (non-class) assignment. */
export interface PlannedAssignment {
  readonly username: string;
  readonly cluster_id: string;
  readonly vmid: number;
}

/** A row that is not imported, and why. */
export interface SkippedRow {
  readonly what: string;
  readonly reason: string;
}

/** The import plan: what would be written, and what is left out. */
export interface LegacyImportPlan {
  readonly classes: PlannedClass[];
  readonly assignments: PlannedAssignment[];
  /** admins of the old portal: admins come from the identity provider's groups, so only reported */
  readonly admins: string[];
  /** teachers of the old portal (they need the teachers group in the identity provider) */
  readonly teachers: string[];
  /** rows whose cluster cannot be known */
  readonly unresolvable: SkippedRow[];
  /** rows left out on purpose (templates, VMs being deleted, unknown users) */
  readonly skipped: SkippedRow[];
}

/** Options of {@link planLegacyImport}. */
export interface LegacyImportOptions {
  /** cluster of VMs whose class names none (and of direct assignments) */
  readonly cluster?: string;
}

/** A class id from a legacy class: a slug of its name and its legacy id (unique, readable). */
export function legacyClassId(name: string, legacyId: number): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '');
  return slug === '' ? `class-${legacyId}` : `${slug}-${legacyId}`;
}

/** Builds the plan. */
export function planLegacyImport(data: LegacyData, options: LegacyImportOptions = {}): LegacyImportPlan {
  const skipped: SkippedRow[] = [];
  const unresolvable: SkippedRow[] = [];
  const usernames = new Map<number, string>();
  const admins: string[] = [];
  const teachers: string[] = [];
  for (const user of data.users) {
    const name = tryNormalizeUsername(user.username, { realmSuffixes: DEFAULT_REALM_SUFFIXES });
    if (name === null) {
      skipped.push({
        what: `user #${user.id}`,
        reason: 'username is not usable (empty, too long or with spaces)',
      });
      continue;
    }
    usernames.set(user.id, name);
    if (user.role === 'adminer') admins.push(name);
    if (user.role === 'teacher') teachers.push(name);
  }

  const classes = new Map<number, PlannedClass & { cluster: string | null }>();
  for (const legacy of data.classes) {
    const teacher = legacy.teacher_id === null ? undefined : usernames.get(legacy.teacher_id);
    const cluster = legacy.deployment_cluster?.trim() || null;
    if (cluster !== null && !ClusterIdSchema.safeParse(cluster).success) {
      unresolvable.push({
        what: `class #${legacy.id} "${legacy.name}"`,
        reason: `deployment_cluster "${cluster}" is not a valid cluster id`,
      });
    }
    classes.set(legacy.id, {
      class_id: legacyClassId(legacy.name, legacy.id),
      legacy_id: legacy.id,
      name: legacy.name.trim().slice(0, 200) || `Class ${legacy.id}`,
      description: legacy.description,
      teachers: teacher === undefined ? [] : [teacher],
      students: [],
      vms: [],
      cluster: cluster !== null && ClusterIdSchema.safeParse(cluster).success ? cluster : null,
    });
  }
  const addMember = (rows: LegacyData['enrollments'], role: 'students' | 'teachers') => {
    for (const row of rows) {
      const target = classes.get(row.class_id);
      const name = usernames.get(row.user_id);
      if (target === undefined || name === undefined) {
        skipped.push({
          what: `${role === 'students' ? 'enrollment' : 'co-owner'} user #${row.user_id} in class #${row.class_id}`,
          reason: target === undefined ? 'unknown class' : 'unknown user',
        });
        continue;
      }
      if (!target[role].includes(name)) target[role].push(name);
    }
  };
  addMember(data.enrollments, 'students');
  addMember(data.coOwners, 'teachers');

  const fallbackCluster =
    options.cluster !== undefined && ClusterIdSchema.safeParse(options.cluster).success
      ? options.cluster
      : null;
  const assignments: PlannedAssignment[] = [];
  for (const row of data.vmAssignments) {
    const what = `VM assignment #${row.id} (VMID ${row.proxmox_vmid}${row.vm_name ? ` "${row.vm_name}"` : ''})`;
    if (row.is_template_vm) {
      skipped.push({ what, reason: 'template VMs are not assigned to users' });
      continue;
    }
    if (row.status === 'deleting') {
      skipped.push({ what, reason: 'the VM was being deleted' });
      continue;
    }
    if (!VmidSchema.safeParse(row.proxmox_vmid).success) {
      skipped.push({ what, reason: 'not a valid VMID' });
      continue;
    }
    const owner = row.assigned_user_id === null ? null : (usernames.get(row.assigned_user_id) ?? undefined);
    if (owner === undefined) {
      skipped.push({ what, reason: `assigned to unknown user #${row.assigned_user_id}` });
      continue;
    }
    const klass = row.class_id === null ? undefined : classes.get(row.class_id);
    if (row.class_id !== null && klass === undefined) {
      skipped.push({ what, reason: `belongs to unknown class #${row.class_id}` });
      continue;
    }
    const cluster = klass?.cluster ?? fallbackCluster;
    if (cluster === null) {
      unresolvable.push({
        what,
        reason: klass
          ? `class "${klass.name}" has no deployment_cluster: pass --cluster ID`
          : 'a direct assignment names no cluster: pass --cluster ID',
      });
      continue;
    }
    if (klass !== undefined) {
      klass.vms.push({ cluster_id: cluster, vmid: row.proxmox_vmid, student: owner });
    } else if (owner !== null) {
      assignments.push({ username: owner, cluster_id: cluster, vmid: row.proxmox_vmid });
    } else {
      skipped.push({ what, reason: 'neither in a class nor assigned to a user' });
    }
  }
  return {
    classes: [...classes.values()].map(({ cluster: _cluster, ...planned }) => planned),
    assignments,
    admins,
    teachers,
    unresolvable,
    skipped,
  };
}

/** The (cluster, VMID) pairs a plan would assign, once each. */
export function plannedVmKeys(plan: LegacyImportPlan): { cluster_id: string; vmid: number }[] {
  const keys = new Map<string, { cluster_id: string; vmid: number }>();
  const add = (cluster_id: string, vmid: number) => keys.set(`${cluster_id}:${vmid}`, { cluster_id, vmid });
  for (const planned of plan.classes) for (const vm of planned.vms) add(vm.cluster_id, vm.vmid);
  for (const assignment of plan.assignments) add(assignment.cluster_id, assignment.vmid);
  return [...keys.values()];
}

/**
 * Leaves out the VMs the inventory does not hold (`known` says which do), like `assign` and
 * `import-mappings` refuse them: an assignment to a VMID nobody has yet would hand whoever later gets
 * it to that user. The rows left out are reported in `skipped`.
 */
export function withoutUnknownVms(
  plan: LegacyImportPlan,
  known: (key: { cluster_id: string; vmid: number }) => boolean,
): LegacyImportPlan {
  const skipped: SkippedRow[] = [...plan.skipped];
  const refuse = (what: string, cluster_id: string, vmid: number) =>
    skipped.push({ what, reason: `VM ${cluster_id}:${vmid} is not in the inventory` });
  const classes = plan.classes.map((planned) => ({
    ...planned,
    vms: planned.vms.filter((vm) => {
      if (known(vm)) return true;
      refuse(`class ${planned.class_id} VM ${vm.vmid}`, vm.cluster_id, vm.vmid);
      return false;
    }),
  }));
  const assignments = plan.assignments.filter((assignment) => {
    if (known(assignment)) return true;
    refuse(`assignment of ${assignment.username}`, assignment.cluster_id, assignment.vmid);
    return false;
  });
  return { ...plan, classes, assignments, skipped };
}

import { describe, expect, it } from 'vitest';
import { legacyClassId, planLegacyImport } from '#local/legacy/plan-import.ts';
import type { LegacyData, LegacyVmAssignment } from '#local/legacy/read-legacy-db.ts';

/** The mapping rules of import-legacy (pure: no database, no network). */

const vm = (
  row: Partial<LegacyVmAssignment> & Pick<LegacyVmAssignment, 'id' | 'proxmox_vmid'>,
): LegacyVmAssignment => ({
  class_id: null,
  vm_name: null,
  assigned_user_id: null,
  status: 'assigned',
  is_template_vm: false,
  is_teacher_vm: false,
  ...row,
});

const base: LegacyData = {
  users: [
    { id: 1, username: 'root', role: 'adminer' },
    { id: 2, username: 'Teacher@PVE', role: 'teacher' },
    { id: 3, username: 'stu1', role: 'user' },
    { id: 4, username: 'stu2@pam', role: 'user' },
    { id: 5, username: 'co', role: 'teacher' },
  ],
  classes: [
    { id: 7, name: 'Networking 101!', description: 'nets', teacher_id: 2, deployment_cluster: 'lab-a' },
    { id: 8, name: 'No Cluster', description: null, teacher_id: 2, deployment_cluster: null },
  ],
  enrollments: [
    { user_id: 3, class_id: 7 },
    { user_id: 4, class_id: 7 },
    { user_id: 4, class_id: 8 },
    { user_id: 99, class_id: 7 },
  ],
  coOwners: [{ user_id: 5, class_id: 7 }],
  vmAssignments: [
    vm({ id: 1, class_id: 7, proxmox_vmid: 101, assigned_user_id: 3 }),
    vm({ id: 2, class_id: 7, proxmox_vmid: 102, assigned_user_id: null, status: 'available' }),
    vm({ id: 3, class_id: 7, proxmox_vmid: 103, is_template_vm: true }),
    vm({ id: 4, class_id: null, proxmox_vmid: 104, assigned_user_id: 4 }),
    vm({ id: 5, class_id: 8, proxmox_vmid: 105, assigned_user_id: 4 }),
    vm({ id: 6, class_id: 7, proxmox_vmid: 106, assigned_user_id: 3, status: 'deleting' }),
    vm({ id: 7, class_id: 7, proxmox_vmid: 107, assigned_user_id: 42 }),
  ],
};

describe('planLegacyImport', () => {
  it("puts class VMs on the class's deployment cluster and normalizes usernames", () => {
    const plan = planLegacyImport(base);
    const networking = plan.classes.find((c) => c.legacy_id === 7);
    expect(networking).toMatchObject({
      class_id: 'networking-101-7',
      name: 'Networking 101!',
      teachers: ['teacher', 'co'],
      students: ['stu1', 'stu2'],
    });
    expect(networking?.vms).toEqual([
      { cluster_id: 'lab-a', vmid: 101, student: 'stu1' },
      { cluster_id: 'lab-a', vmid: 102, student: null },
    ]);
  });

  it('never guesses a cluster: rows without one are unresolvable', () => {
    const plan = planLegacyImport(base);
    expect(plan.assignments).toEqual([]);
    expect(plan.unresolvable.map((r) => r.what)).toEqual([
      expect.stringContaining('#4'),
      expect.stringContaining('#5'),
    ]);
    expect(plan.unresolvable.map((r) => r.reason).join(' ')).toContain('--cluster');
  });

  it('uses --cluster for direct assignments and classes without a deployment cluster', () => {
    const plan = planLegacyImport(base, { cluster: 'lab-b' });
    expect(plan.unresolvable).toEqual([]);
    expect(plan.assignments).toEqual([{ username: 'stu2', cluster_id: 'lab-b', vmid: 104 }]);
    expect(plan.classes.find((c) => c.legacy_id === 8)?.vms).toEqual([
      { cluster_id: 'lab-b', vmid: 105, student: 'stu2' },
    ]);
    // A class's own cluster wins over the option.
    expect(plan.classes.find((c) => c.legacy_id === 7)?.vms.every((v) => v.cluster_id === 'lab-a')).toBe(
      true,
    );
  });

  it('skips templates, VMs being deleted, unknown users and memberships, and reports admins', () => {
    const plan = planLegacyImport(base, { cluster: 'lab-b' });
    const skipped = plan.skipped.map((r) => `${r.what}: ${r.reason}`).join('\n');
    expect(skipped).toContain('VMID 103');
    expect(skipped).toContain('template');
    expect(skipped).toContain('VMID 106');
    expect(skipped).toContain('unknown user #42');
    expect(skipped).toContain('user #99');
    expect(plan.admins).toEqual(['root']);
    expect(plan.teachers).toEqual(['teacher', 'co']);
  });

  it('makes readable, valid class ids', () => {
    expect(legacyClassId('Networking 101', 3)).toBe('networking-101-3');
    expect(legacyClassId('***', 4)).toBe('class-4');
    expect(legacyClassId('x'.repeat(100), 12)).toMatch(/^x{50}-12$/);
  });
});

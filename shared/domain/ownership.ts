import * as z from 'zod';
import { ClusterIdSchema, VmidSchema } from './vm-record.ts';

/**
 * Who may see and act on which VM. Identity of a VM is always (cluster_id, vmid). Usernames are
 * stored normalized (the API normalizes them the same way on import and from JWT claims).
 */

/** Where an assignment comes from: the imported mappings.json, a class, or an admin. */
export const AssignmentSourceSchema = z.enum(['mapping', 'class', 'admin']);
export type AssignmentSource = z.infer<typeof AssignmentSourceSchema>;

export const UsernameSchema = z.string().min(1).max(256);

/** Class ids: lower-case words, usable in keys. */
export const ClassIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'invalid class id');

const epochMs = z.number().int().nonnegative();

/** A user ↔ VM assignment. */
export const AssignmentSchema = z.object({
  username: UsernameSchema,
  cluster_id: ClusterIdSchema,
  vmid: VmidSchema,
  source: AssignmentSourceSchema,
  /** set when source is `class` */
  class_id: ClassIdSchema.nullable().default(null),
  /** set when the guest was removed: a VMID reused later is never shown to the old owner */
  suspended: z.boolean().default(false),
  suspended_at: epochMs.nullable().default(null),
  created_at: epochMs,
});
export type Assignment = z.infer<typeof AssignmentSchema>;
export type AssignmentInput = z.input<typeof AssignmentSchema>;

/** Role of a class member. */
export const ClassRoleSchema = z.enum(['teacher', 'student']);
export type ClassRole = z.infer<typeof ClassRoleSchema>;

/** A class's own record (members and VMs are separate items). */
export const ClassInfoSchema = z.object({
  class_id: ClassIdSchema,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).nullable().default(null),
  /**
   * The class owner: a teacher of the class who, besides admins, may grant or remove the teacher
   * role in it, and whom no member can remove. Null for classes created without a teacher.
   */
  owner: UsernameSchema.nullable().default(null),
  created_at: epochMs,
});
export type ClassInfo = z.infer<typeof ClassInfoSchema>;
export type ClassInfoInput = z.input<typeof ClassInfoSchema>;

/** A member of a class. */
export const ClassMemberSchema = z.object({
  class_id: ClassIdSchema,
  username: UsernameSchema,
  role: ClassRoleSchema,
});
export type ClassMember = z.infer<typeof ClassMemberSchema>;

/** A VM of a class, assigned to a student (or to nobody yet: then only the teachers see it). */
export const ClassVmSchema = z.object({
  class_id: ClassIdSchema,
  cluster_id: ClusterIdSchema,
  vmid: VmidSchema,
  student: UsernameSchema.nullable().default(null),
  suspended: z.boolean().default(false),
});
export type ClassVm = z.infer<typeof ClassVmSchema>;
export type ClassVmInput = z.input<typeof ClassVmSchema>;

/** A class with its members and VMs. */
export interface ClassDetails {
  info: ClassInfo;
  teachers: string[];
  students: string[];
  vms: ClassVm[];
}

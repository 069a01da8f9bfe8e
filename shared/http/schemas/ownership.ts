import * as z from 'zod';
import { AssignmentSourceSchema, ClassIdSchema, ClassRoleSchema } from '#shared/domain/ownership.ts';
import { ClusterIdSchema, VmidSchema } from '#shared/domain/vm-record.ts';
import {
  BooleanQuery,
  ClusterIdParam,
  CursorQuery,
  LimitQuery,
  UsernameSchema,
  VmidParam,
} from '#shared/http/schemas/common.ts';

/** A class id in a path. */
export const ClassIdParam = ClassIdSchema.meta({ description: 'Class id', examples: ['net-101'] });

/** An assignment as the API answers it. */
export const AssignmentResponseItemSchema = z
  .object({
    username: z.string(),
    cluster_id: z.string(),
    vmid: z.number().int(),
    source: AssignmentSourceSchema,
    class_id: z.string().nullable(),
    /** the guest was removed: a VMID reused later is never shown to this user */
    suspended: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'Assignment' });
export type AssignmentResponseItem = z.infer<typeof AssignmentResponseItemSchema>;

/** Query of GET /api/assignments (admins): optional filters and paging. */
export const ListAssignmentsQuerySchema = z.object({
  username: UsernameSchema.optional(),
  cluster: ClusterIdParam.optional(),
  vmid: VmidParam.optional(),
  limit: LimitQuery.optional(),
  cursor: CursorQuery.optional(),
});
export type ListAssignmentsQuery = z.infer<typeof ListAssignmentsQuerySchema>;

/** Answer of GET /api/assignments. */
export const ListAssignmentsResponseSchema = z.object({
  assignments: z.array(AssignmentResponseItemSchema),
  next_cursor: z.string().nullable(),
});
export type ListAssignmentsResponse = z.infer<typeof ListAssignmentsResponseSchema>;

/** Body of PUT /api/assignments: assign one VM to one user (idempotent). */
export const PutAssignmentBodySchema = z
  .strictObject({ username: UsernameSchema, cluster_id: ClusterIdSchema, vmid: VmidSchema })
  .meta({ examples: [{ username: 'alice', cluster_id: 'lab-a', vmid: 101 }] });
export type PutAssignmentBody = z.infer<typeof PutAssignmentBodySchema>;

/**
 * Query of DELETE /api/assignments: the assignment to remove. A query rather than a body because
 * DELETE bodies are dropped by some clients and proxies.
 */
export const DeleteAssignmentQuerySchema = z.object({
  username: UsernameSchema,
  cluster: ClusterIdParam,
  vmid: VmidParam,
});
export type DeleteAssignmentQuery = z.infer<typeof DeleteAssignmentQuerySchema>;

/** One entry of a mappings.json list: a bare VMID (needs `cluster`) or a "cluster:vmid" string. */
export const MappingEntrySchema = z.union([
  VmidSchema,
  z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}:\d{3,9}$/, 'must be a VMID or "cluster:vmid"'),
]);

/**
 * Size limits of one mappings.json import, checked before any database work: a larger body is a
 * 413 at once, and so is a body naming more users or entries. Split bigger files into several
 * imports (each is all or nothing on its own).
 */
export const MAPPINGS_IMPORT_LIMITS = {
  /** bytes of the JSON body (2 MiB) */
  maxBodyBytes: 2 * 1024 * 1024,
  /** usernames in one file */
  maxUsers: 10_000,
  /**
   * entries (VMs listed) in one file, all users together: one write each, so that an import
   * finishes well within the API's 30 s integration timeout even on DynamoDB Local
   */
  maxEntries: 10_000,
} as const;

/** The list of one user in a mappings.json. */
export const MappingListSchema = z.array(MappingEntrySchema).max(10_000);

const mappingListJsonSchema = (() => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(MappingListSchema, { io: 'input' });
  return rest;
})();

/**
 * Body of POST /api/assignments/import: the original portal's mappings.json, a JSON object of
 * username → list. Parsed into a Map, so that no key has a special meaning (`__proto__` or
 * `constructor` are usernames like any other, and are then refused or kept by the username rules,
 * never silently dropped); each bad key or list is reported at its own field.
 */
export const ImportMappingsBodySchema = z
  .custom<Readonly<Record<string, unknown>>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { message: 'Invalid input: expected a JSON object of username → list' },
  )
  .transform((file, ctx) => {
    const users = new Map<string, z.output<typeof MappingListSchema>>();
    for (const [rawUser, list] of Object.entries(file)) {
      const user = UsernameSchema.safeParse(rawUser);
      if (!user.success) {
        for (const issue of user.error.issues)
          ctx.addIssue({ code: 'custom', path: [rawUser], message: issue.message });
        continue;
      }
      const parsed = MappingListSchema.safeParse(list);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ code: 'custom', path: [rawUser, ...issue.path], message: issue.message });
        }
        continue;
      }
      users.set(rawUser, parsed.data);
    }
    return users;
  })
  .meta({
    type: 'object',
    additionalProperties: mappingListJsonSchema,
    description: 'username → list of VMIDs or "cluster:vmid" strings',
    examples: [{ 'alice@pve': [101, 102], bob: ['lab-b:101'] }],
  });
export type ImportMappingsBody = z.output<typeof ImportMappingsBodySchema>;

/** Query of POST /api/assignments/import. */
export const ImportMappingsQuerySchema = z.object({
  /** the cluster bare VMIDs belong to; without it, bare VMIDs are refused (never guessed) */
  cluster: ClusterIdParam.optional(),
  dry_run: BooleanQuery.optional(),
});
export type ImportMappingsQuery = z.infer<typeof ImportMappingsQuerySchema>;

/** Answer of POST /api/assignments/import (a bad file is a 400 listing every reason; nothing is imported). */
export const ImportMappingsResponseSchema = z.object({
  dry_run: z.boolean(),
  users: z.number().int().nonnegative(),
  assignments: z.number().int().nonnegative(),
  created: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
});
export type ImportMappingsResponse = z.infer<typeof ImportMappingsResponseSchema>;

/** A class as the API answers it. */
export const ClassResponseSchema = z
  .object({
    class_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    created_at: z.iso.datetime(),
    /** the class owner (a teacher): grants the teacher role with admins; cannot be removed */
    owner: z.string().nullable(),
    teachers: z.array(z.string()),
    students: z.array(z.string()),
    vms: z.array(
      z.object({
        cluster_id: z.string(),
        vmid: z.number().int(),
        student: z.string().nullable(),
        suspended: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'Class' });
export type ClassResponse = z.infer<typeof ClassResponseSchema>;

/** Answer of GET /api/classes: admins see every class, others the classes they teach or attend. */
export const ListClassesResponseSchema = z.object({ classes: z.array(ClassResponseSchema) });
export type ListClassesResponse = z.infer<typeof ListClassesResponseSchema>;

/** Body of POST /api/classes. */
export const CreateClassBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullable().optional(),
    teachers: z.array(UsernameSchema).max(50).optional(),
    /** the class owner (made a teacher of the class); default: the first of `teachers` */
    owner: UsernameSchema.optional(),
  })
  .meta({ examples: [{ name: 'Networking 101', teachers: ['carol'] }] });
export type CreateClassBody = z.infer<typeof CreateClassBodySchema>;

/** Body of PUT /api/classes/{classId}: the fields to change (at least one). */
export const UpdateClassBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).nullable().optional(),
    /** admins only: a teacher of the class who becomes its owner */
    owner: UsernameSchema.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'must change at least one field' })
  .meta({ examples: [{ name: 'Networking 102' }] });
export type UpdateClassBody = z.infer<typeof UpdateClassBodySchema>;

/** Path of the routes on one class. */
export const ClassPathSchema = z.object({ classId: ClassIdParam });
export type ClassPath = z.infer<typeof ClassPathSchema>;

/** Path of PUT/DELETE /api/classes/{classId}/members/{username}. */
export const ClassMemberPathSchema = z.object({ classId: ClassIdParam, username: UsernameSchema });
export type ClassMemberPath = z.infer<typeof ClassMemberPathSchema>;

/** Body of PUT /api/classes/{classId}/members/{username}; empty means a student. */
export const PutClassMemberBodySchema = z
  .strictObject({ role: ClassRoleSchema.default('student') })
  .prefault({})
  .meta({ examples: [{ role: 'student' }] });
export type PutClassMemberBody = z.infer<typeof PutClassMemberBodySchema>;

/** Path of PUT/DELETE /api/classes/{classId}/vms/{cluster}/{vmid}. */
export const ClassVmPathSchema = z.object({
  classId: ClassIdParam,
  cluster: ClusterIdParam,
  vmid: VmidParam,
});
export type ClassVmPath = z.infer<typeof ClassVmPathSchema>;

/** Body of PUT /api/classes/{classId}/vms/{cluster}/{vmid}: the student it is assigned to, if any. */
export const PutClassVmBodySchema = z
  .strictObject({ student: UsernameSchema.nullable().default(null) })
  .prefault({})
  .meta({ examples: [{ student: 'alice' }] });
export type PutClassVmBody = z.infer<typeof PutClassVmBodySchema>;

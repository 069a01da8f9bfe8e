import * as z from 'zod';
import { AuditResultSchema, AuditTargetSchema } from '#shared/audit/audit-entry.ts';
import { ClassIdSchema } from '#shared/domain/ownership.ts';
import {
  ClusterIdParam,
  CursorQuery,
  LimitQuery,
  UsernameSchema,
  VmidParam,
} from '#shared/http/schemas/common.ts';

/** A time in a query string: ISO 8601 with a time zone, e.g. `2026-12-01T00:00:00Z`. */
const IsoTimeQuery = z.iso
  .datetime({ offset: true })
  .meta({ description: 'ISO 8601 time with zone', examples: ['2026-12-01T00:00:00Z'] });

/** Query of GET /api/audit (admins): filters, combined with AND, and paging. */
export const ListAuditQuerySchema = z
  .object({
    /** entries made by this user */
    user: UsernameSchema.optional(),
    /** entries about VMs of this cluster (with `vmid`: about that VM) */
    cluster: ClusterIdParam.optional(),
    vmid: VmidParam.optional(),
    class: ClassIdSchema.meta({ description: 'Class id', examples: ['net-101'] }).optional(),
    from: IsoTimeQuery.optional(),
    to: IsoTimeQuery.optional(),
    limit: LimitQuery.optional(),
    cursor: CursorQuery.optional(),
  })
  .superRefine((query, ctx) => {
    if (query.vmid !== undefined && query.cluster === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster'],
        message: 'required with vmid (a VM is cluster and VMID)',
      });
    }
    if (query.cluster !== undefined && query.vmid === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['vmid'],
        message: 'required with cluster (a VM is cluster and VMID)',
      });
    }
    if (query.from !== undefined && query.to !== undefined && Date.parse(query.from) > Date.parse(query.to)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after to' });
    }
  });
export type ListAuditQuery = z.infer<typeof ListAuditQuerySchema>;

/** One audit entry as the API answers it. */
export const AuditEntryResponseSchema = z
  .object({
    at: z.iso.datetime(),
    actor: z.string(),
    action: z.string(),
    target: AuditTargetSchema,
    result: AuditResultSchema,
    status: z.number().int(),
    error_code: z.string().nullable(),
    request_id: z.string(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntryResponse = z.infer<typeof AuditEntryResponseSchema>;

/** Answer of GET /api/audit: newest first. */
export const ListAuditResponseSchema = z.object({
  entries: z.array(AuditEntryResponseSchema),
  next_cursor: z.string().nullable(),
});
export type ListAuditResponse = z.infer<typeof ListAuditResponseSchema>;

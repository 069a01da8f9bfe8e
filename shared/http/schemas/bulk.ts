import * as z from 'zod';
import { BulkItemResultSchema, BulkOutcomeSchema, MAX_BULK_VMS } from '#shared/actions/bulk-job.ts';
import { ClusterIdSchema, VmidSchema } from '#shared/domain/vm-record.ts';
import { VmActionSchema } from '#shared/http/schemas/actions.ts';
import { ClassIdParam } from '#shared/http/schemas/ownership.ts';

/** Body of POST /api/bulk-actions: an action on a list of VMs, or on a class's VMs. */
export const BulkActionBodySchema = z
  .object({
    action: VmActionSchema,
    vms: z
      .array(z.object({ cluster_id: ClusterIdSchema, vmid: VmidSchema }).strict())
      .min(1)
      .max(MAX_BULK_VMS)
      .optional()
      .meta({ description: `The VMs (1 … ${MAX_BULK_VMS}); or give class_id` }),
    class_id: ClassIdParam.optional().meta({
      description: 'Every VM of this class (its teachers and admins); or give vms',
    }),
  })
  .strict()
  .refine((body) => (body.vms === undefined) !== (body.class_id === undefined), {
    message: 'give exactly one of vms and class_id',
    path: ['vms'],
  })
  .meta({ examples: [{ action: 'start', class_id: 'net-101' }] });
export type BulkActionBody = z.infer<typeof BulkActionBodySchema>;

/** Path of GET /api/bulk-actions/{bulkId}. */
export const BulkActionPathSchema = z.object({
  bulkId: z
    .string()
    .regex(/^[A-Za-z0-9-]{8,64}$/, 'invalid bulk id')
    .meta({
      description: 'The id a bulk action answered',
      examples: ['0c6e8e0a-6f5e-4b43-9d1b-2f1f0c0e7a11'],
    }),
});
export type BulkActionPath = z.infer<typeof BulkActionPathSchema>;

/** Answer of a bulk action and of its status route: one line per VM, in request order. */
export const BulkActionResponseSchema = z.object({
  ok: z.literal(true),
  bulk_id: z.string(),
  action: VmActionSchema,
  class_id: z.string().nullable(),
  created_at: z.iso.datetime(),
  /** true once no line is pending */
  finished: z.boolean(),
  counts: z.record(BulkOutcomeSchema, z.number().int().nonnegative()),
  results: z.array(
    BulkItemResultSchema.meta({
      description:
        'done: confirmed (reason "unchanged" when it already was); pending: sent, the sync confirms it; ' +
        'refused: not run, error_code and reason say why (as a single action would answer); failed: Proxmox ' +
        'unavailable or an error, not run — or not confirmed before the pending state expired',
    }),
  ),
});
export type BulkActionResponse = z.infer<typeof BulkActionResponseSchema>;

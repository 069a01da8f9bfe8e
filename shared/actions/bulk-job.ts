import * as z from 'zod';
import { PendingActionSchema, VmStatusSchema } from '#shared/domain/vm-record.ts';

/**
 * A bulk action as kept for its status route: who asked, what, and each VM's line as the action
 * answered it. Pending lines are brought up to date from the inventory when read (see
 * `refreshLine`); the record itself is written once and expires after {@link BULK_JOB_TTL_S}.
 */

/** Most VMs one bulk request may name. */
export const MAX_BULK_VMS = 200;

/** Bulk jobs are kept a day (DynamoDB's TTL removes them). */
export const BULK_JOB_TTL_S = 24 * 3600;

export const BulkOutcomeSchema = z.enum(['done', 'pending', 'refused', 'failed']);

export const BulkItemResultSchema = z.object({
  cluster_id: z.string(),
  vmid: z.number().int(),
  outcome: BulkOutcomeSchema,
  status: VmStatusSchema.nullable(),
  upid: z.string().nullable(),
  error_code: z.string().nullable(),
  reason: z.string().nullable(),
});

export const BulkJobSchema = z.object({
  bulk_id: z.string().min(1),
  /** username of the caller (or the schedule) that made the request */
  actor: z.string().min(1),
  action: PendingActionSchema,
  class_id: z.string().nullable(),
  /** epoch ms */
  created_at: z.number().int().nonnegative(),
  results: z.array(BulkItemResultSchema),
});
export type BulkJob = z.infer<typeof BulkJobSchema>;

/** Where bulk jobs are kept. */
export interface BulkJobStore {
  putBulkJob(job: BulkJob): Promise<void>;
  getBulkJob(bulkId: string): Promise<BulkJob | null>;
}

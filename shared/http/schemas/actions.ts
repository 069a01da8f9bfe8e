import * as z from 'zod';
import { PendingActionSchema, VmStatusSchema } from '#shared/domain/vm-record.ts';
import { ClusterIdParam, OkTrue, VmidParam } from '#shared/http/schemas/common.ts';

/** The power actions of POST /api/vm/{vmid}/{action}. */
export const VmActionSchema = PendingActionSchema.meta({
  description:
    "Power action, with Proxmox's meanings: start; shutdown = graceful power-off (ACPI or guest agent; " +
    'the task fails after 60 s if the guest ignores it); stop = hard stop at once (like pulling the plug: ' +
    'offer it as a confirmed "force stop"); reboot',
  examples: ['shutdown'],
});
export type VmAction = z.infer<typeof VmActionSchema>;

/** Path of POST /api/vm/{vmid}/{action} (the original portal's path). */
export const VmActionPathSchema = z.object({ vmid: VmidParam, action: VmActionSchema });
export type VmActionPath = z.infer<typeof VmActionPathSchema>;

/** Query of POST /api/vm/{vmid}/{action}: `cluster` is required when the VMID is ambiguous (409 otherwise). */
export const VmActionQuerySchema = z.object({ cluster: ClusterIdParam.optional() });
export type VmActionQuery = z.infer<typeof VmActionQuerySchema>;

/**
 * Answer 200: the action's Proxmox task finished and the new status is confirmed, or the guest
 * already was in the action's target state (`unchanged: true`, no task started, `upid: null`).
 */
export const VmActionDoneResponseSchema = z.object({
  ok: OkTrue,
  cluster_id: z.string(),
  vmid: z.number().int(),
  action: VmActionSchema,
  status: VmStatusSchema,
  pending_action: z.null(),
  upid: z.string().nullable(),
  unchanged: z.boolean().meta({
    description: 'true when the guest already was in the target state: Proxmox was asked, no task started',
  }),
});
export type VmActionDoneResponse = z.infer<typeof VmActionDoneResponseSchema>;

/** Answer 202: still running after the wait; the next sync confirms it. */
export const VmActionPendingResponseSchema = z.object({
  ok: OkTrue,
  cluster_id: z.string(),
  vmid: z.number().int(),
  action: VmActionSchema,
  pending_action: VmActionSchema,
  upid: z.string().nullable(),
});
export type VmActionPendingResponse = z.infer<typeof VmActionPendingResponseSchema>;

/** `details` entries of the 409 for a VMID present on several clusters the caller can see. */
export const VmidCandidateSchema = z.object({ cluster_id: z.string(), vmid: z.number().int() });
export type VmidCandidate = z.infer<typeof VmidCandidateSchema>;

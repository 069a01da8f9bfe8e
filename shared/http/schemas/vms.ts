import * as z from 'zod';
import { ApiVmSchema, VmStatusSchema } from '#shared/domain/vm-record.ts';
import {
  BooleanQuery,
  ClusterIdParam,
  CursorQuery,
  LimitQuery,
  NodeNameQuery,
  OkTrue,
  SearchQuery,
  TagQuery,
  VmidParam,
} from '#shared/http/schemas/common.ts';

/** Query of GET /api/vms. Unknown parameters (cache busters) are ignored. */
export const ListVmsQuerySchema = z.object({
  search: SearchQuery.optional(),
  cluster: ClusterIdParam.optional(),
  status: z
    .string()
    .toLowerCase()
    .pipe(VmStatusSchema)
    .meta({ description: 'VM status', examples: ['running'] })
    .optional(),
  node: NodeNameQuery.optional(),
  tag: TagQuery.optional(),
  force_refresh: BooleanQuery.meta({ description: 'Same as `live`' }).optional(),
  live: BooleanQuery.meta({
    description:
      "Refresh the clusters in scope before answering (status; for at most 50 VMs in scope also their IP and RDP/SSH); see the answer's `mode` and `refresh`",
  }).optional(),
  limit: LimitQuery.optional(),
  cursor: CursorQuery.optional(),
});
export type ListVmsQuery = z.infer<typeof ListVmsQuerySchema>;

/** A VM as the API answers it (the domain's API shape). */
export const VmSchema = ApiVmSchema.meta({ id: 'Vm' });

/** Answer of GET /api/vms. */
/** How the refresh of one cluster in scope ended (`force_refresh`, `live`, a never-synced cluster). */
export const ClusterRefreshReportSchema = z.object({
  cluster_id: z.string(),
  outcome: z.enum(['refreshed', 'coalesced', 'failed', 'timed_out']),
  /** a short reason (null when refreshed by this request) */
  reason: z.string().nullable(),
});
export type ClusterRefreshReport = z.infer<typeof ClusterRefreshReportSchema>;

export const ListVmsResponseSchema = z.object({
  vms: z.array(VmSchema),
  /** whether the caller is an admin (frontends show admin controls with it) */
  is_admin: z
    .boolean()
    .meta({ description: 'Whether the caller is an admin (frontends show admin controls)' }),
  /** `live` only when every cluster in scope was refreshed within the deadline (with the addresses it re-read) */
  mode: z.enum(['inventory', 'live']),
  /** true when any VM returned is stale, or a refresh did not complete */
  stale: z.boolean(),
  /** per cluster, when this request refreshed (or tried to); null when it answered from the table only */
  refresh: z.object({ clusters: z.array(ClusterRefreshReportSchema) }).nullable(),
  next_cursor: z.string().nullable(),
  generated_at: z.iso.datetime(),
});
export type ListVmsResponse = z.infer<typeof ListVmsResponseSchema>;

/** Path of GET /api/vms/{cluster}/{vmid}. */
export const VmPathSchema = z.object({ cluster: ClusterIdParam, vmid: VmidParam });
export type VmPath = z.infer<typeof VmPathSchema>;

/** Path of GET /api/vm/{vmid}/status and /ip (the original portal's paths: a bare VMID). */
export const VmByVmidPathSchema = z.object({ vmid: VmidParam });
export type VmByVmidPath = z.infer<typeof VmByVmidPathSchema>;

/**
 * Query of GET /api/vm/{vmid}/status and /ip: `cluster` is needed when the VMID is on several of
 * the caller's clusters (409 listing them otherwise), as for actions. Unknown parameters (cache
 * busters) are ignored.
 */
export const VmByVmidQuerySchema = z.object({ cluster: ClusterIdParam.optional() });
export type VmByVmidQuery = z.infer<typeof VmByVmidQuerySchema>;

/** Answer of GET /api/vm/{vmid}/status: the VM in the API shape, plus `ok: true`. */
export const VmStatusResponseSchema = VmSchema.extend({ ok: OkTrue }).meta({ id: 'VmStatusResponse' });
export type VmStatusResponse = z.infer<typeof VmStatusResponseSchema>;

/** Answer of GET /api/vm/{vmid}/ip: the original portal's `{ok, vmid, ip, status}`, plus the cluster. */
export const VmIpResponseSchema = z.object({
  ok: OkTrue,
  cluster_id: z.string(),
  vmid: z.number().int(),
  ip: z
    .string()
    .nullable()
    .meta({ description: 'The preferred IPv4 (else IPv6) address; null when unknown' }),
  status: VmStatusSchema,
});
export type VmIpResponse = z.infer<typeof VmIpResponseSchema>;

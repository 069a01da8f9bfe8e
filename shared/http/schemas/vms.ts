import * as z from 'zod';
import { ApiVmSchema, VmStatusSchema } from '#shared/domain/vm-record.ts';
import {
  BooleanQuery,
  ClusterIdParam,
  CursorQuery,
  LimitQuery,
  NodeNameQuery,
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
  force_refresh: BooleanQuery.optional(),
  live: BooleanQuery.optional(),
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
  /** `live` only when every cluster in scope was refreshed within the deadline */
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

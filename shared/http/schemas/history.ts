import * as z from 'zod';

/** The ranges GET /api/vms/{cluster}/{vmid}/history serves, and the resolution of each. */
export const HISTORY_RANGES = {
  '1h': { spanMs: 3600_000, resolution: '1m' },
  '24h': { spanMs: 24 * 3600_000, resolution: '1m' },
  '14d': { spanMs: 14 * 24 * 3600_000, resolution: '15m' },
} as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;

/** Query of GET /api/vms/{cluster}/{vmid}/history. Unknown parameters (cache busters) are ignored. */
export const VmHistoryQuerySchema = z.object({
  range: z
    .enum(['1h', '24h', '14d'])
    .meta({
      description: 'Time range: 1h and 24h at 1-minute resolution, 14d at 15-minute resolution (default 1h)',
      examples: ['24h'],
    })
    .default('1h'),
});
export type VmHistoryQuery = z.infer<typeof VmHistoryQuerySchema>;

const Percent = z.number().nonnegative();

/** One bucket of a VM's history. */
export const VmHistorySampleSchema = z
  .object({
    /** bucket start */
    t: z.iso.datetime(),
    cpu_avg: Percent.meta({ description: "CPU use, % of the VM's CPUs, average over the bucket" }),
    cpu_max: Percent.meta({ description: 'CPU use, % of its CPUs, highest sample in the bucket' }),
    mem_avg: Percent.meta({ description: "Memory use, % of the VM's memory, average over the bucket" }),
    mem_max: Percent.meta({ description: 'Memory use, % of its memory, highest sample in the bucket' }),
  })
  .meta({ id: 'VmHistorySample' });
export type VmHistorySample = z.infer<typeof VmHistorySampleSchema>;

/** Answer of GET /api/vms/{cluster}/{vmid}/history. */
export const VmHistoryResponseSchema = z
  .object({
    cluster_id: z.string(),
    vmid: z.number().int(),
    range: z.enum(['1h', '24h', '14d']),
    resolution_seconds: z.union([z.literal(60), z.literal(900)]),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    /** oldest first; a bucket the VM did not run in (or no sync observed) is absent, not zero */
    samples: z.array(VmHistorySampleSchema),
    /**
     * Why the history may stop early: the cluster's last sync error while its sync is failing
     * (detail for admins, a generic reason for others), else null.
     */
    sync_error: z.string().nullable(),
  })
  .meta({ id: 'VmHistory' });
export type VmHistoryResponse = z.infer<typeof VmHistoryResponseSchema>;

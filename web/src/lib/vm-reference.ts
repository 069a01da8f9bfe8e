import { ClusterIdSchema, VmidSchema } from '#shared/domain/vm-record.ts';

/**
 * A VM reference typed into a form, checked with the API's own schemas: a cluster id and a VMID,
 * or the reason it is not one.
 */
export function parseVmReference(
  cluster: string,
  vmid: string,
): { ok: true; cluster: string; vmid: number } | { ok: false; reason: string } {
  const clusterId = ClusterIdSchema.safeParse(cluster.trim());
  if (!clusterId.success)
    return { ok: false, reason: 'Enter the cluster id (lower-case letters, digits and dashes, e.g. lab-a).' };
  const text = vmid.trim();
  const number = VmidSchema.safeParse(/^\d+$/.test(text) ? Number(text) : Number.NaN);
  if (!number.success) return { ok: false, reason: 'Enter the VMID as a number from 100 to 999999999.' };
  return { ok: true, cluster: clusterId.data, vmid: number.data };
}

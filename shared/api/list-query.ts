import * as z from 'zod';
import { ClusterIdSchema, type StoredVm, type VmStatus } from '#shared/domain/vm-record.ts';
import { BadRequestError } from '#shared/http/errors.ts';
import { MAX_LIST_LIMIT } from '#shared/http/schemas/common.ts';

/**
 * The list query of GET /api/vms, pure: filters, ordering and the opaque cursor. The answer is
 * ordered by (cluster_id, vmid); a cursor names the cluster and the last VMID returned, so paging
 * never repeats nor skips a VM even when filters drop VMs in the middle of a read.
 */

/**
 * Page size when the query names no `limit`: the original frontend expects the whole list in one
 * answer, so one page holds up to this many VMs (the maximum `limit`), `next_cursor` beyond it.
 */
export const DEFAULT_LIST_LIMIT = MAX_LIST_LIMIT;

/** The filters of a list query (already validated by the route schema). */
export interface VmListFilters {
  readonly search?: string | undefined;
  readonly cluster?: string | undefined;
  readonly status?: VmStatus | undefined;
  readonly node?: string | undefined;
  readonly tag?: string | undefined;
}

/** Where the next page starts: after `afterVmid` in `cluster` (null: at the cluster's start). */
export interface ListPosition {
  readonly cluster: string;
  readonly afterVmid: number | null;
}

const CursorPayloadSchema = z.strictObject({
  c: ClusterIdSchema,
  v: z.number().int().nonnegative().nullable(),
});

/** True when no filter is set (every VM matches). */
export function hasFilters(filters: VmListFilters): boolean {
  return (
    filters.search !== undefined ||
    filters.status !== undefined ||
    filters.node !== undefined ||
    filters.tag !== undefined
  );
}

/**
 * Whether a stored VM matches the filters: `search` is a case-insensitive substring of the name,
 * the IP, the VMID or any tag; `status`, `node`, `tag` and `cluster` match exactly (node and tag
 * case-insensitively, as Proxmox treats them).
 */
export function matchesFilters(vm: StoredVm, filters: VmListFilters): boolean {
  if (filters.cluster !== undefined && vm.cluster_id !== filters.cluster) return false;
  if (filters.status !== undefined && vm.status !== filters.status) return false;
  if (filters.node !== undefined && vm.node.toLowerCase() !== filters.node.toLowerCase()) return false;
  if (filters.tag !== undefined) {
    const wanted = filters.tag.toLowerCase();
    if (!vm.tag_list.some((tag) => tag.toLowerCase() === wanted)) return false;
  }
  if (filters.search !== undefined) {
    const needle = filters.search.trim().toLowerCase();
    if (needle === '') return true;
    const haystacks = [vm.name, vm.ip ?? '', String(vm.vmid), ...vm.tag_list];
    if (!haystacks.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** Orders VM keys by cluster id, then VMID (the list's order). */
export function compareVmKeys(
  a: { cluster_id: string; vmid: number },
  b: { cluster_id: string; vmid: number },
): number {
  if (a.cluster_id !== b.cluster_id) return a.cluster_id < b.cluster_id ? -1 : 1;
  return a.vmid - b.vmid;
}

/** True when a key comes after the position (so it belongs to the page that starts there). */
export function isAfterPosition(key: { cluster_id: string; vmid: number }, position: ListPosition): boolean {
  if (key.cluster_id !== position.cluster) return key.cluster_id > position.cluster;
  return position.afterVmid === null || key.vmid > position.afterVmid;
}

/** Encodes a position as an opaque base64url cursor. */
export function encodeListCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify({ c: position.cluster, v: position.afterVmid }), 'utf8').toString(
    'base64url',
  );
}

/** Decodes a cursor from `next_cursor`; a cursor this API did not issue is a 400 naming `query.cursor`. */
export function decodeListCursor(cursor: string): ListPosition {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const parsed = CursorPayloadSchema.safeParse(raw);
  if (!parsed.success) throw invalidCursor();
  return { cluster: parsed.data.c, afterVmid: parsed.data.v };
}

function invalidCursor(): BadRequestError {
  return new BadRequestError('Invalid cursor', [
    { field: 'query.cursor', message: 'must be a cursor returned by a previous page' },
  ]);
}

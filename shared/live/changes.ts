import * as z from 'zod';
import { ClassVmSchema, UsernameSchema } from '#shared/domain/ownership.ts';
import { RuntimeChunkSchema } from '#shared/domain/runtime-stats.ts';
import { type ClusterState, ClusterStateSchema } from '#shared/domain/sync-state.ts';
import { type StoredVm, StoredVmSchema, type VmKey, VmKeySchema } from '#shared/domain/vm-record.ts';
import { syncStateKeys } from '#shared/store/table-design.ts';

/**
 * Stream records of the tables the sync and the API write, turned into the changes live updates
 * care about: a VM item written or deleted, a node's runtime stats replaced, a cluster's state
 * written, an assignment, a class's VM link or a class membership written or deleted. Everything
 * else (leases, run stats, audit, TTL deletions) is no change for clients.
 */

/** Which table a record comes from. */
export type LiveSource = 'inventory' | 'syncState' | 'ownership';

/** A stream record with its images already unmarshalled (the adapter's work). */
export interface LiveStreamRecord {
  readonly source: LiveSource;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** the record's sequence number (reported back for a failed record) */
  readonly sequenceNumber: string;
  readonly oldImage?: Readonly<Record<string, unknown>> | undefined;
  readonly newImage?: Readonly<Record<string, unknown>> | undefined;
  /** deleted by TTL (DynamoDB's own principal): nothing a client sees changed */
  readonly ttlDelete?: boolean;
}

export type LiveChange =
  | { readonly kind: 'vm'; readonly key: VmKey; readonly old: StoredVm | null; readonly new: StoredVm | null }
  | {
      readonly kind: 'runtime';
      readonly cluster: string;
      readonly node: string;
      readonly vmids: readonly number[];
    }
  | {
      readonly kind: 'cluster';
      readonly cluster: string;
      readonly old: ClusterState | null;
      readonly new: ClusterState | null;
    }
  | { readonly kind: 'assignment'; readonly username: string; readonly key: VmKey }
  | { readonly kind: 'class_vm'; readonly classId: string; readonly key: VmKey }
  | {
      readonly kind: 'member';
      readonly classId: string;
      readonly username: string;
      readonly teacher: boolean;
    };

const AssignmentImageSchema = VmKeySchema.extend({
  entity: z.literal('assignment'),
  username: UsernameSchema,
});
const MemberImageSchema = z.object({
  entity: z.literal('member'),
  class_id: z.string().min(1),
  username: UsernameSchema,
  role: z.string(),
});
const ClassVmImageSchema = ClassVmSchema.extend({ entity: z.literal('class_vm') });
const RuntimeImageSchema = RuntimeChunkSchema.pick({ cluster_id: true, node: true, stats: true });

function parseOrNull<S extends z.ZodType>(schema: S, image: unknown): z.output<S> | null {
  if (image === undefined) return null;
  const parsed = schema.safeParse(image);
  return parsed.success ? parsed.data : null;
}

/** VMIDs whose stored runtime tuple differs between two images of a chunk (added and dropped ones too). */
export function changedRuntimeVmids(
  oldStats: Readonly<Record<string, readonly number[]>> | undefined,
  newStats: Readonly<Record<string, readonly number[]>> | undefined,
): number[] {
  const before = oldStats ?? {};
  const after = newStats ?? {};
  const changed = new Set<number>();
  for (const vmid of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[vmid];
    const b = after[vmid];
    if (a === undefined || b === undefined || a[0] !== b[0] || a[1] !== b[1]) changed.add(Number(vmid));
  }
  return [...changed].sort((x, y) => x - y);
}

/** The changes of one record (none for records clients do not care about or cannot read). */
export function classifyRecord(record: LiveStreamRecord): LiveChange[] {
  if (record.ttlDelete === true) return [];
  const image = record.newImage ?? record.oldImage;
  if (image === undefined) return [];
  switch (record.source) {
    case 'inventory': {
      const key = parseOrNull(VmKeySchema, image);
      if (key === null) return [];
      const old = parseOrNull(StoredVmSchema, record.oldImage);
      const next = parseOrNull(StoredVmSchema, record.newImage);
      if (old === null && next === null) return [];
      return [{ kind: 'vm', key: { cluster_id: key.cluster_id, vmid: key.vmid }, old, new: next }];
    }
    case 'syncState': {
      if (image.pk === syncStateKeys.clusterStatePartition) {
        // The read cache's version items live beside the cluster states: no client-visible change.
        if (typeof image.sk === 'string' && syncStateKeys.isVersionSortKey(image.sk)) return [];
        const old = parseOrNull(ClusterStateSchema, record.oldImage);
        const next = parseOrNull(ClusterStateSchema, record.newImage);
        // A quick pass's lease taken or freed on the state item (quick_lease) changes no state field.
        if (old !== null && next !== null && JSON.stringify(old) === JSON.stringify(next)) return [];
        const cluster = next?.cluster_id ?? old?.cluster_id;
        return cluster === undefined ? [] : [{ kind: 'cluster', cluster, old, new: next }];
      }
      if (typeof image.sk === 'string' && image.sk.startsWith(syncStateKeys.runtimePrefix())) {
        const old = parseOrNull(RuntimeImageSchema, record.oldImage);
        const next = parseOrNull(RuntimeImageSchema, record.newImage);
        const chunk = next ?? old;
        if (chunk === null) return [];
        const vmids = changedRuntimeVmids(old?.stats, next?.stats);
        return vmids.length === 0
          ? []
          : [{ kind: 'runtime', cluster: chunk.cluster_id, node: chunk.node, vmids }];
      }
      return [];
    }
    case 'ownership': {
      const assignment = parseOrNull(AssignmentImageSchema, image);
      if (assignment !== null) {
        return [
          {
            kind: 'assignment',
            username: assignment.username,
            key: { cluster_id: assignment.cluster_id, vmid: assignment.vmid },
          },
        ];
      }
      const link = parseOrNull(ClassVmImageSchema, image);
      if (link !== null) {
        return [
          { kind: 'class_vm', classId: link.class_id, key: { cluster_id: link.cluster_id, vmid: link.vmid } },
        ];
      }
      const member = parseOrNull(MemberImageSchema, image);
      if (member !== null) {
        // A teacher membership (before or after) changes which class VMs the user sees; a student's
        // view follows their own assignment records.
        const teacher = [record.oldImage, record.newImage].some(
          (side) => parseOrNull(MemberImageSchema, side)?.role === 'teacher',
        );
        return [{ kind: 'member', classId: member.class_id, username: member.username, teacher }];
      }
      return [];
    }
  }
}

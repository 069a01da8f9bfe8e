import * as z from 'zod';
import { ClassVmSchema, UsernameSchema } from '#shared/domain/ownership.ts';
import { decodeRuntimePack, mergePackedSections, RuntimeSetItemSchema } from '#shared/domain/runtime-pack.ts';
import type { ClusterRuntime, RuntimeSample } from '#shared/domain/runtime-stats.ts';
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

function parseOrNull<S extends z.ZodType>(schema: S, image: unknown): z.output<S> | null {
  if (image === undefined) return null;
  const parsed = schema.safeParse(image);
  return parsed.success ? parsed.data : null;
}

/** VMIDs whose stored (rounded) sample differs between two images of a node's samples (added and dropped ones too). */
export function changedRuntimeVmids(
  oldStats: ReadonlyMap<number, RuntimeSample> | undefined,
  newStats: ReadonlyMap<number, RuntimeSample> | undefined,
): number[] {
  const before = oldStats ?? new Map<number, RuntimeSample>();
  const after = newStats ?? new Map<number, RuntimeSample>();
  const changed = new Set<number>();
  for (const vmid of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(vmid);
    const b = after.get(vmid);
    if (
      a === undefined ||
      b === undefined ||
      a.cpu_usage !== b.cpu_usage ||
      a.memory_usage !== b.memory_usage
    )
      changed.add(vmid);
  }
  return [...changed].sort((x, y) => x - y);
}

/** A runtime set chunk's image decoded, or null when it is absent or unreadable. */
function runtimeImage(image: unknown): { cluster: string; runtime: ClusterRuntime } | null {
  const item = parseOrNull(RuntimeSetItemSchema, image);
  if (item === null) return null;
  try {
    return { cluster: item.cluster_id, runtime: mergePackedSections(decodeRuntimePack(item.packed)) };
  } catch {
    return null;
  }
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
      if (typeof image.sk === 'string' && image.sk.startsWith(syncStateKeys.runtimeSetPrefix)) {
        // A chunk of a cluster's runtime set: the VMIDs of each node whose rounded values moved.
        // (Items of the previous per-node format are no change: the set write that deletes them
        // reports its own values.)
        const old = runtimeImage(record.oldImage);
        const next = runtimeImage(record.newImage);
        const cluster = next?.cluster ?? old?.cluster;
        if (cluster === undefined) return [];
        const changes: LiveChange[] = [];
        const nodes = new Set([...(old?.runtime.keys() ?? []), ...(next?.runtime.keys() ?? [])]);
        for (const node of [...nodes].sort()) {
          const vmids = changedRuntimeVmids(old?.runtime.get(node)?.stats, next?.runtime.get(node)?.stats);
          if (vmids.length > 0) changes.push({ kind: 'runtime', cluster, node, vmids });
        }
        return changes;
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

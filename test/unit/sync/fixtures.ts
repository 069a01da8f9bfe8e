import { type NewStoredVm, type StoredVm, StoredVmSchema } from '#shared/domain/vm-record.ts';
import type { GuestResource, NodeResource } from '#shared/proxmox/schemas.ts';
import type { ListingObservation } from '#shared/sync/plan-quick.ts';

export const T0 = Date.parse('2026-11-25T12:00:00.000Z');
export const MIB = 1024 * 1024;

/** A running QEMU guest row of /cluster/resources. */
export function row(vmid: number, overrides: Partial<GuestResource> = {}): GuestResource {
  return {
    id: `qemu/${vmid}`,
    type: 'qemu',
    vmid,
    node: 'pve1',
    status: 'running',
    name: `vm-${vmid}`,
    uptime: 3_600,
    cpu: 0.125,
    maxcpu: 2,
    mem: 512 * MIB,
    maxmem: 2048 * MIB,
    maxdisk: 32 * 1024 * MIB,
    tags: 'lab;web',
    ...overrides,
  };
}

export function nodeRow(node: string, status = 'online'): NodeResource {
  return { id: `node/${node}`, type: 'node', node, status };
}

export function listing(
  guests: GuestResource[],
  overrides: Partial<ListingObservation> = {},
): ListingObservation {
  return {
    clusterId: 'lab-a',
    clusterName: 'Lab A',
    observedAt: T0,
    guests,
    nodes: [nodeRow('pve1'), nodeRow('pve2')],
    ...overrides,
  };
}

export function parseNew(vm: NewStoredVm): StoredVm {
  return StoredVmSchema.parse(vm);
}

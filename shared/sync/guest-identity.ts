import type { GuestConfig } from '#shared/proxmox/schemas.ts';

/**
 * A guest's identity beyond its VMID, read from its config, so that a VMID destroyed and reused
 * between two syncs (same type, maybe even the same name) is recognised as a new guest.
 *
 * What Proxmox keeps (sources read):
 * - proxmox/qemu-server, PVE/API2/Qemu.pm (create_vm): a new VM gets a random `vmgenid` and a
 *   `meta: creation-qemu=<version>,ctime=<unix seconds>` property; PVE/QemuConfig.pm
 *   (`__snapshot_rollback_hook`) regenerates `vmgenid` on every snapshot rollback, so a changed
 *   vmgenid alone also means "rolled back", not only "recreated". `meta` survives rollbacks (the
 *   snapshot carries the same creation time).
 * - proxmox/pve-container, src/PVE/LXC/Config.pm (`$confdesc`): a container config has no `vmgenid`
 *   and, in the versions read, no `meta`; a container's identity is its `meta` ctime only where a
 *   Proxmox version writes one, otherwise the type change check in the listing is all there is.
 *
 * Hence the rule: when both sides know a creation time, it alone decides; only when neither does
 * (VMs created before Proxmox wrote `meta`) a different `vmgenid` counts as a new guest.
 */

/** What identifies a guest beyond its VMID (null where the config has nothing). */
export interface GuestIdentity {
  /** Unix seconds of the guest's creation (`meta: ctime=`) */
  readonly guest_ctime: number | null;
  /** QEMU VM generation id */
  readonly vmgenid: string | null;
}

const CTIME = /(?:^|,)\s*ctime=(\d+)\s*(?:,|$)/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the identity from a guest config (both types: `meta` where present; QEMU: `vmgenid`). */
export function identityFromConfig(type: 'qemu' | 'lxc', config: GuestConfig): GuestIdentity {
  const meta = config.meta;
  const ctime = typeof meta === 'string' ? CTIME.exec(meta)?.[1] : undefined;
  const genid = config.vmgenid;
  return {
    guest_ctime: ctime === undefined ? null : Number(ctime),
    // `vmgenid: 0` turns the feature off; `1` asks Proxmox to generate one (not an id yet).
    vmgenid: type === 'qemu' && typeof genid === 'string' && UUID.test(genid) ? genid.toLowerCase() : null,
  };
}

/** True when the config just read belongs to another guest than the one stored under the VMID. */
export function isRecycledGuest(stored: GuestIdentity, seen: GuestIdentity): boolean {
  if (stored.guest_ctime !== null && seen.guest_ctime !== null)
    return stored.guest_ctime !== seen.guest_ctime;
  if (stored.guest_ctime !== null || seen.guest_ctime !== null) return false;
  return stored.vmgenid !== null && seen.vmgenid !== null && stored.vmgenid !== seen.vmgenid;
}

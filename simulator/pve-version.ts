import { mixSeed, Prng } from '#simulator/prng.ts';

/*
 * What the simulated Proxmox VE version changes, in one place. Every difference between the 8.4
 * and the 9.x API that the simulator models is a field of a profile; the API code asks the profile
 * of the node that answers (or the node that holds the data) instead of testing version numbers.
 */

/** Major Proxmox VE versions the simulator can speak. */
export type PveMajor = 8 | 9;

/** Every major version the simulator speaks, oldest first. */
export const PVE_MAJORS: readonly PveMajor[] = [8, 9];

/** The major version the simulator speaks unless told otherwise (the current release). */
export const DEFAULT_PVE_MAJOR: PveMajor = 9;

/** The API differences of one Proxmox VE version. */
export interface PveVersionProfile {
  major: PveMajor;
  /** `/version` answer. */
  version: string;
  release: string;
  repoid: string;
  /** `kversion` of `/nodes/{node}/status`. */
  kernel: string;
  /**
   * Privileges any one of which allows the guest-agent calls on `/vms/{vmid}`; the 403 text lists
   * them joined by `|`. PVE 8: VM.Monitor; PVE 9 removed it for VM.GuestAgent.*.
   */
  agentPrivileges: readonly string[];
  /**
   * QEMU rows and `status/current` carry `memhost` (host-side PSS of the VM's cgroup) and `mem` is
   * that host figure when the VM has no balloon statistics, so it can exceed `maxmem` (9.0).
   */
  memhost: boolean;
  /** `status/current` carries pressure-stall figures (9.0). */
  pressure: boolean;
  /** Node rows of `/cluster/resources` carry `host-arch` (9.1). */
  hostArch: boolean;
  /** Unfiltered listings carry `network` rows instead of `sdn` rows (9.1). */
  networkRows: boolean;
  /** `status/current` `ha` still names the HA `group` (removed with HA rules in 9.1). */
  haGroupInStatus: boolean;
  /** A resource the HA manager has not processed yet shows `ha.state: null` in `status/current`. */
  haStateNullUntilProcessed: boolean;
  /** Guests sit in nested pools (`a/b/c`) rather than flat ones. */
  nestedPools: boolean;
  /** Some containers were created from OCI images (9.1): raw `lxc.*` keys, `entrypoint`, `env`. */
  ociContainers: boolean;
  /**
   * Reads guest and node stats published by newer versions (RRD keys `pve-*-9.0`); false for 8.4
   * before 8.4.4, whose listings show 9.x nodes' guests as `unknown`.
   */
  readsNewerStats: boolean;
}

const PVE8: PveVersionProfile = {
  major: 8,
  version: '8.4.1',
  release: '8.4',
  repoid: '2a5fa54a8503f96d',
  kernel: 'Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64',
  agentPrivileges: ['VM.Monitor'],
  memhost: false,
  pressure: false,
  hostArch: false,
  networkRows: false,
  haGroupInStatus: true,
  haStateNullUntilProcessed: false,
  nestedPools: false,
  ociContainers: false,
  readsNewerStats: false,
};

const PVE9: PveVersionProfile = {
  major: 9,
  version: '9.2.11',
  release: '9.2',
  repoid: '14a22df3a8c6b2e9',
  kernel: 'Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2026-04-14T09:12Z) x86_64',
  agentPrivileges: ['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'],
  memhost: true,
  pressure: true,
  hostArch: true,
  networkRows: true,
  haGroupInStatus: false,
  haStateNullUntilProcessed: true,
  nestedPools: true,
  ociContainers: true,
  readsNewerStats: true,
};

/** The profile of a major version. */
export function pveProfile(major: PveMajor): PveVersionProfile {
  return major === 8 ? PVE8 : PVE9;
}

/**
 * Privileges of a token created with the default role: both agent privilege names, as a role
 * carries them through a mixed-version upgrade (each node ignores the name it does not know).
 */
export const DEFAULT_TOKEN_PRIVILEGES: readonly string[] = [
  'VM.Audit',
  'VM.PowerMgmt',
  'VM.Monitor',
  'VM.GuestAgent.Audit',
];

/** Whether a privilege list allows the guest-agent calls on a node of this version. */
export function allowsAgent(profile: PveVersionProfile, privileges: readonly string[]): boolean {
  return profile.agentPrivileges.some((p) => privileges.includes(p));
}

const NESTED_POOLS: Readonly<Record<string, string>> = {
  customers: 'customers/acme',
  'lab-course': 'teaching/lab/course1',
  infra: 'infra',
};

/** The pool id a generated guest's pool has under this version (nested ids on 9). */
export function poolIdFor(profile: PveVersionProfile, flatPool: string): string {
  return profile.nestedPools ? (NESTED_POOLS[flatPool] ?? flatPool) : flatPool;
}

/** Every pool id of a set of guest pools, parents of nested pools included (`a`, `a/b` for `a/b`). */
export function withParentPools(poolIds: Iterable<string>): string[] {
  const all = new Set<string>();
  for (const id of poolIds) {
    const parts = id.split('/');
    for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  return [...all].sort();
}

/** Version-specific traits of one generated guest (drawn apart from the fleet, which stays the same). */
export interface GuestVersionTraits {
  /** Raw `lxc.*` config keys, as `[key, value]` pairs (containers). */
  rawLxc?: [string, string][];
  /** Created from an OCI image: entrypoint and NUL-separated environment (containers, 9.1+). */
  oci?: { entrypoint: string; env: string };
  /** A VM without balloon statistics: on 9.x `mem` is the host figure (VMs). */
  noBalloonStats?: boolean;
}

const TUN_PASSTHROUGH: [string, string][] = [
  ['lxc.cgroup2.devices.allow', 'c 10:200 rwm'],
  ['lxc.mount.entry', '/dev/net/tun dev/net/tun none bind,create=file'],
];

/**
 * Traits of the guest in `slot`. Slot 3 (a container) is hand-tuned with raw `lxc.*` keys on every
 * version; slot 5 (a container) comes from an OCI image where the version has those; slot 0 (the
 * first VM) has no balloon statistics. Further guests get them at random, from their own stream.
 */
export function versionTraits(
  profile: PveVersionProfile,
  seed: number,
  clusterIndex: number,
  slot: number,
  type: 'qemu' | 'lxc',
): GuestVersionTraits {
  const rng = new Prng(mixSeed(seed, clusterIndex, slot, 0x9e59));
  const traits: GuestVersionTraits = {};
  if (type === 'lxc') {
    const oci = profile.ociContainers && (slot === 5 || (slot >= 6 && rng.chance(0.25)));
    if (oci) {
      traits.oci = {
        entrypoint: '/docker-entrypoint.sh nginx -g "daemon off;"',
        env: [
          'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          'NGINX_VERSION=1.27.5',
        ].join('\0'),
      };
      traits.rawLxc = [
        ['lxc.signal.halt', 'SIGQUIT'],
        ['lxc.init.cwd', '/'],
        ['lxc.init.uid', '0'],
        ['lxc.init.gid', '0'],
      ];
    } else if (slot === 3 || (slot >= 6 && rng.chance(0.15))) {
      traits.rawLxc = TUN_PASSTHROUGH.map(([k, v]) => [k, v]);
    }
  } else if (slot === 0 || (slot >= 6 && rng.chance(0.2))) {
    traits.noBalloonStats = true;
  }
  return traits;
}

import { mixSeed, Prng } from '#simulator/prng.ts';
import {
  DEFAULT_PVE_MAJOR,
  type PveVersionProfile,
  poolIdFor,
  pveProfile,
  versionTraits,
} from '#simulator/pve-version.ts';
import type { AgentMode, GroundTruthGuest, OsCategory } from '#simulator/types.ts';

/** A network interface as the guest itself reports it (agent or `ip a`). */
export interface GuestInterface {
  name: string;
  mac: string;
  ipv4: string | null;
  prefix: number;
  ipv6?: string;
}

/** One NIC of a guest config (`netN`). */
export interface ConfigNic {
  mac: string;
  model: string;
  bridge: string;
  /** Static IPv4 (QEMU ipconfigN / LXC ip=), with prefix; 'dhcp' or null when none. */
  staticIp: string | 'dhcp' | null;
  /** IP the guest actually has on that NIC while running (null: none). */
  liveIp: string | null;
}

/** The simulator's mutable model of one guest. */
export interface SimGuest {
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  name: string;
  /** 'running' | 'stopped' | QEMU run states such as 'paused'. */
  status: string;
  template: boolean;
  ostype: string | null;
  category: OsCategory;
  sockets: number;
  cores: number;
  vcpus?: number;
  memoryMiB: number;
  /** How the memory is written in a QEMU config: '4096' or 'current=4096'. */
  memoryForm: 'plain' | 'current';
  disks: { key: string; volume: string; sizeText: string; bytes: number }[];
  bootDiskBytes: number;
  tags: string[];
  pool?: string;
  ha?: { group: string };
  hastate?: string;
  /** Simulated time until which the HA manager has not processed a freshly HA-managed guest. */
  haPendingUntil?: number;
  lock?: string;
  agent: AgentMode | null;
  /** Raw `agent` config value (QEMU), absent when no agent key. */
  agentConfig?: string;
  nics: ConfigNic[];
  /** Extra in-guest interfaces (docker bridges), listed before or after the NICs. */
  extraInterfaces: GuestInterface[];
  extraFirst: boolean;
  windowsNaming: boolean;
  rdpOpen: boolean;
  sshOpen: boolean;
  /** Simulated epoch ms when the guest booted (running guests). */
  bootAt: number;
  statSeed: number;
  uuid: string;
  /** Unix seconds of the guest's creation (QEMU `meta: ctime=`). */
  ctime: number;
  /** Index used for IP allocation, unique per cluster. */
  slot: number;
  /** Raw `lxc.*` config keys (containers), returned by PVE as `[key, value]` pairs under `lxc`. */
  rawLxc?: [string, string][];
  /** Created from an OCI image (containers, PVE 9.1+). */
  oci?: { entrypoint: string; env: string };
  /** A VM without balloon statistics: on PVE 9 its `mem` is the host-side figure. */
  noBalloonStats?: boolean;
}

/** Parameters of one cluster's fleet. */
export interface FleetSpec {
  seed: number;
  clusterIndex: number;
  nodes: string[];
  guests: number;
  now: number;
  /**
   * How guests spread over the nodes: `round-robin` (default: guest i on node i mod n) or
   * `contiguous` (each node holds one contiguous VMID range, as clusters filled node by node do).
   */
  nodeLayout?: 'round-robin' | 'contiguous';
  /** Version whose traits the guests get (default: the simulator's default version). */
  profile?: PveVersionProfile;
}

const WINDOWS_OSTYPES = ['win11', 'win10', 'win8', 'win7', 'w2k8', 'wvista', 'w2k3', 'wxp', 'w2k'] as const;
const LINUX_OSTYPES = ['l26', 'l26', 'l26', 'l26', 'l24'] as const;
const OTHER_OSTYPES = ['other', 'solaris', null] as const;
const LXC_OSTYPES = [
  'debian',
  'ubuntu',
  'alpine',
  'centos',
  'fedora',
  'archlinux',
  'opensuse',
  'devuan',
  'gentoo',
  'nixos',
  'unmanaged',
] as const;
const NIC_MODELS = ['virtio', 'virtio', 'virtio', 'e1000', 'vmxnet3', 'rtl8139', 'e1000e'] as const;
const TAG_POOL = ['prod', 'dev', 'web', 'db', 'lab', 'student', 'gpu', 'backup'] as const;
const POOLS = ['customers', 'lab-course', 'infra'] as const;
const LOCKS = { qemu: ['backup', 'snapshot', 'migrate'], lxc: ['backup', 'mounted', 'snapshot'] } as const;

/** Classifies an ostype the way the inventory should. */
export function categoryOf(type: 'qemu' | 'lxc', ostype: string | null): OsCategory {
  if (type === 'lxc') return ostype === null || ostype === 'unmanaged' ? 'other' : 'linux';
  if (ostype === null) return 'other';
  if (/^w/.test(ostype)) return 'windows';
  if (/^l\d\d$/.test(ostype)) return 'linux';
  return 'other';
}

/** Formats a byte count the way PVE writes disk sizes (1024-based K/M/G/T). */
export function formatSize(bytes: number): string {
  const units: [string, number][] = [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ];
  for (const [unit, factor] of units) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

/** Guest IP of the given allocation slot: 127.<cluster+1>.<base+slot/250>.<slot%250+2>. */
export function slotIp(clusterIndex: number, slot: number, base: number): string {
  return `127.${clusterIndex + 1}.${base + Math.floor(slot / 250)}.${(slot % 250) + 2}`;
}

function mac(rng: Prng, prefix = 'BC:24:11'): string {
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) parts.push(rng.hex(2).toUpperCase());
  return `${prefix}:${parts.join(':')}`;
}

/** Creates one guest deterministically from the cluster seed and the guest's slot. */
export function generateGuest(spec: FleetSpec, slot: number, vmid: number): SimGuest {
  const rng = new Prng(mixSeed(spec.seed, spec.clusterIndex, slot, 0x5eed));
  const nodeIndex =
    spec.nodeLayout === 'contiguous'
      ? Math.min(spec.nodes.length - 1, Math.floor((slot * spec.nodes.length) / Math.max(1, spec.guests)))
      : slot % spec.nodes.length;
  const node = spec.nodes[nodeIndex] ?? spec.nodes[0] ?? 'pve1';
  // Fixed rotation for the first slots guarantees every category in small fleets.
  const kind = slot < 6 ? slot : rng.int(0, 99);
  let type: 'qemu' | 'lxc';
  let ostype: string | null;
  if (slot < 6) {
    type = slot === 3 || slot === 5 ? 'lxc' : 'qemu';
    ostype = [WINDOWS_OSTYPES[0], 'l26', 'other', 'debian', null, 'ubuntu'][slot] ?? null;
  } else if (kind < 25) {
    type = 'qemu';
    ostype = rng.pick(WINDOWS_OSTYPES);
  } else if (kind < 65) {
    type = 'qemu';
    ostype = rng.pick(LINUX_OSTYPES);
  } else if (kind < 72) {
    type = 'qemu';
    ostype = rng.pick(OTHER_OSTYPES);
  } else {
    type = 'lxc';
    ostype = rng.pick(LXC_OSTYPES);
  }
  const category = categoryOf(type, ostype);
  const template = slot >= 6 && rng.chance(0.05);
  const paused = !template && type === 'qemu' && rng.chance(0.03);
  const running = !template && (slot < 6 || rng.chance(0.7));
  const status = template ? 'stopped' : paused ? 'paused' : running ? 'running' : 'stopped';
  const windows = category === 'windows';
  const name =
    type === 'qemu'
      ? `${windows ? 'win' : category === 'linux' ? 'lin' : 'oth'}-${spec.clusterIndex + 1}-${vmid}`
      : `ct-${spec.clusterIndex + 1}-${vmid}`;

  let agent: AgentMode | null = null;
  let agentConfig: string | undefined;
  if (type === 'qemu') {
    const a =
      slot < 6
        ? 'running'
        : rng.pick([
            'running',
            'running',
            'running',
            'none',
            'disabled',
            'not-running',
            'running-no-ips',
          ] as const);
    agent = a;
    if (a === 'disabled') agentConfig = rng.pick(['0', 'enabled=0', 'enabled=0,type=virtio']);
    else if (a !== 'none')
      agentConfig = rng.pick(['1', 'enabled=1', 'enabled=1,fstrim_cloned_disks=1,type=virtio', '1,type=isa']);
  }

  const nicCount = rng.chance(0.15) ? 2 : 1;
  const nics: ConfigNic[] = [];
  for (let n = 0; n < nicCount; n++) {
    const ip = slotIp(spec.clusterIndex, slot, n === 0 ? 1 : 100);
    const isStatic = n === 0 ? rng.chance(0.35) : false;
    nics.push({
      mac: mac(rng),
      model: type === 'qemu' ? rng.pick(NIC_MODELS) : 'veth',
      bridge: n === 0 ? 'vmbr0' : 'vmbr1',
      staticIp: isStatic ? `${ip}/8` : type === 'lxc' || rng.chance(0.3) ? 'dhcp' : null,
      liveIp: ip,
    });
  }
  const extraInterfaces: GuestInterface[] = [];
  if (category === 'linux' && rng.chance(0.25)) {
    extraInterfaces.push({
      name: 'docker0',
      mac: `02:42:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}`,
      ipv4: slotIp(spec.clusterIndex, slot, 200),
      prefix: 16,
    });
    if (rng.chance(0.5))
      extraInterfaces.push({
        name: `br-${rng.hex(12)}`,
        mac: `02:42:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}`,
        ipv4: null,
        prefix: 16,
      });
  }

  const sockets = type === 'qemu' && rng.chance(0.2) ? 2 : 1;
  const cores = rng.pick([1, 2, 2, 4, 4, 8]);
  const vcpus = type === 'qemu' && sockets * cores > 1 && rng.chance(0.1) ? sockets * cores - 1 : undefined;
  const memoryMiB = type === 'lxc' ? rng.pick([512, 1024, 2048]) : rng.pick([1024, 2048, 4096, 8192, 16384]);
  const disks: SimGuest['disks'] = [];
  const diskSizes = [8, 16, 32, 40, 64, 100].map((g) => g * 1024 ** 3);
  if (type === 'qemu') {
    const bus = windows ? rng.pick(['sata', 'scsi', 'virtio']) : rng.pick(['scsi', 'scsi', 'virtio']);
    const bootBytes = rng.chance(0.1) ? 1536 * 1024 ** 2 : rng.pick(diskSizes);
    const text = rng.chance(0.05) ? String(bootBytes) : formatSize(bootBytes);
    disks.push({ key: `${bus}0`, volume: `local-lvm:vm-${vmid}-disk-0`, sizeText: text, bytes: bootBytes });
    if (rng.chance(0.2)) {
      const b = rng.pick([200, 500, 1024]) * 1024 ** 3;
      disks.push({
        key: `${bus}1`,
        volume: `local-lvm:vm-${vmid}-disk-1`,
        sizeText: formatSize(b),
        bytes: b,
      });
    }
  } else {
    const b = rng.pick([4, 8, 16, 32]) * 1024 ** 3;
    disks.push({ key: 'rootfs', volume: `local-lvm:vm-${vmid}-disk-0`, sizeText: formatSize(b), bytes: b });
  }
  const tagCount = rng.int(0, 2);
  const tags = [...new Set(Array.from({ length: tagCount }, () => rng.pick(TAG_POOL)))].sort();
  const pool = rng.chance(0.4) ? rng.pick(POOLS) : undefined;
  const haManaged = !template && rng.chance(0.1);
  const lock = rng.chance(0.04) ? rng.pick(LOCKS[type]) : undefined;
  const reachable = rng.chance(0.85);
  const guest: SimGuest = {
    vmid,
    type,
    node,
    name,
    status,
    template,
    ostype,
    category,
    sockets,
    cores,
    memoryMiB,
    memoryForm: rng.chance(0.1) ? 'current' : 'plain',
    disks,
    bootDiskBytes: disks[0]?.bytes ?? 0,
    tags,
    agent,
    nics,
    extraInterfaces,
    extraFirst: rng.chance(0.5),
    windowsNaming: windows,
    rdpOpen: windows && reachable,
    sshOpen: !windows && reachable,
    bootAt: spec.now - rng.int(60, 90 * 86400) * 1000,
    statSeed: rng.int(0, 0x7fffffff),
    uuid: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`,
    // Derived, not drawn: the generator's random sequence (and so every seeded fleet) stays as it was.
    ctime: Math.floor(spec.now / 1000) - 86_400 * (100 + slot),
    slot,
  };
  if (vcpus !== undefined) guest.vcpus = vcpus;
  if (agentConfig !== undefined) guest.agentConfig = agentConfig;
  if (pool !== undefined) guest.pool = pool;
  if (haManaged) {
    guest.ha = { group: 'ha-default' };
    guest.hastate = status === 'stopped' ? 'stopped' : 'started';
  }
  if (lock !== undefined) guest.lock = lock;
  const profile = spec.profile ?? pveProfile(DEFAULT_PVE_MAJOR);
  if (guest.pool !== undefined) guest.pool = poolIdFor(profile, guest.pool);
  Object.assign(guest, versionTraits(profile, spec.seed, spec.clusterIndex, slot, type));
  return guest;
}

/** Generates a cluster's fleet; VMIDs start at 100 in every cluster (so they collide across clusters). */
export function generateFleet(spec: FleetSpec): SimGuest[] {
  const rng = new Prng(mixSeed(spec.seed, spec.clusterIndex, 0xf1ee7));
  const guests: SimGuest[] = [];
  let vmid = 100;
  for (let slot = 0; slot < spec.guests; slot++) {
    guests.push(generateGuest(spec, slot, vmid));
    vmid += rng.chance(0.1) ? rng.int(2, 5) : 1;
  }
  return guests;
}

/** Whether the guest is up (any QEMU run state other than stopped). */
export function isUp(g: SimGuest): boolean {
  return g.status !== 'stopped' && g.status !== 'unknown';
}

/** The interfaces the guest reports while running, `lo` included, or null when no live data. */
export function liveInterfaces(g: SimGuest): GuestInterface[] | null {
  if (!isUp(g)) return null;
  // A paused or otherwise halted VM does not answer the agent's guest-ping.
  if (
    g.type === 'qemu' &&
    (g.status !== 'running' || (g.agent !== 'running' && g.agent !== 'running-no-ips'))
  ) {
    return null;
  }
  const withIps = g.type === 'lxc' || g.agent === 'running';
  const lo: GuestInterface = g.windowsNaming
    ? { name: 'Loopback Pseudo-Interface 1', mac: '', ipv4: '127.0.0.1', prefix: 8, ipv6: '::1' }
    : { name: 'lo', mac: '00:00:00:00:00:00', ipv4: '127.0.0.1', prefix: 8, ipv6: '::1' };
  const nicIfaces: GuestInterface[] = g.nics.map((n, i) => ({
    name: g.windowsNaming
      ? i === 0
        ? 'Ethernet'
        : `Ethernet ${i + 1}`
      : g.type === 'lxc'
        ? `eth${i}`
        : `ens${18 + i}`,
    // Guests report lower-case MACs while PVE configs hold upper case: clients must compare case-insensitively.
    mac: n.mac.toLowerCase(),
    ipv4: withIps ? n.liveIp : null,
    prefix: 8,
  }));
  const extras = withIps ? g.extraInterfaces : g.extraInterfaces.map((e) => ({ ...e, ipv4: null }));
  return g.extraFirst ? [lo, ...extras, ...nicIfaces] : [lo, ...nicIfaces, ...extras];
}

/** The IP a correct sync must select for the guest (see {@link GroundTruthGuest.expectedIp}). */
export function expectedIpOf(g: SimGuest): string | null {
  const first = g.nics[0];
  if (first === undefined) return null;
  const live = liveInterfaces(g);
  if (live !== null && g.type === 'lxc') return first.liveIp;
  if (live !== null && g.agent === 'running') return first.liveIp;
  if (first.staticIp !== null && first.staticIp !== 'dhcp') return first.staticIp.split('/')[0] ?? null;
  return null;
}

/** Whether a probe listener should accept on the guest's IP for RDP / SSH right now. */
export function reachability(g: SimGuest): { rdp: boolean; ssh: boolean; ip: string | null } {
  const up = g.status === 'running';
  const ip = up ? (g.nics[0]?.liveIp ?? null) : null;
  return { rdp: up && ip !== null && g.rdpOpen, ssh: up && ip !== null && g.sshOpen, ip };
}

/** The ground-truth view of a guest. */
export function toGroundTruth(g: SimGuest): GroundTruthGuest {
  const r = reachability(g);
  const out: GroundTruthGuest = {
    vmid: g.vmid,
    name: g.name,
    node: g.node,
    type: g.type,
    status: g.status,
    category: g.category,
    ostype: g.ostype,
    cores: g.type === 'qemu' ? (g.vcpus ?? g.sockets * g.cores) : g.cores,
    memoryMiB: g.memoryMiB,
    diskBytes: g.bootDiskBytes,
    totalDiskBytes: g.disks.reduce((s, d) => s + d.bytes, 0),
    template: g.template,
    tags: [...g.tags],
    agent: g.agent,
    expectedIp: expectedIpOf(g),
    rdpReachable: r.rdp,
    sshReachable: r.ssh,
  };
  if (g.pool !== undefined) out.pool = g.pool;
  if (g.hastate !== undefined) out.hastate = g.hastate;
  if (g.lock !== undefined) out.lock = g.lock;
  if (g.nics[0] !== undefined) out.mac = g.nics[0].mac;
  return out;
}

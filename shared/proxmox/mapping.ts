import type { AgentInterface, GuestConfig, GuestResource, LxcInterface } from '#shared/proxmox/schemas.ts';

/*
 * Pure mapping from Proxmox API shapes to inventory fields. No I/O, no clock: callers pass `nowMs`.
 */

/** Guest type as Proxmox names it. */
export type GuestType = 'qemu' | 'lxc';
/** OS category of the inventory. */
export type OsCategory = 'windows' | 'linux' | 'other';

/** Runtime fields derived from one `/cluster/resources` guest row. */
export interface RuntimeFields {
  status: string;
  /** Seconds; null when the row has no stats record. */
  uptime: number | null;
  /** Percent of the guest's allotted CPUs, 2 decimals; null without stats. */
  cpuUsage: number | null;
  /** Percent of maxmem, 2 decimals; null without stats or maxmem. */
  memoryUsage: number | null;
  /** Boot time as ISO 8601 UTC (whole seconds), null when not running or unknown. */
  bootTime: string | null;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Runtime fields of a resources row: cpu fraction → %, mem/maxmem → % (at most 100), uptime → boot
 * time. Missing stats (offline node after 5 min, new guest) give nulls rather than zeros.
 *
 * On PVE 9 a VM without balloon statistics reports the host-side memory of its cgroup as `mem`,
 * QEMU's own overhead included, so mem/maxmem can exceed 100 %: the guest uses all it was given,
 * which is what 100 % says. (`memhost`, the host-side figure for every VM, is not what the
 * inventory shows: it answers how much the host spends, not how full the guest is.)
 */
export function runtimeFromResource(row: GuestResource, nowMs: number): RuntimeFields {
  const uptime = row.uptime ?? null;
  const cpuUsage = row.cpu === undefined ? null : round2(row.cpu * 100);
  const memoryUsage =
    row.mem === undefined || row.maxmem === undefined || row.maxmem <= 0
      ? null
      : Math.min(100, round2((row.mem / row.maxmem) * 100));
  const bootTime =
    uptime !== null && uptime > 0
      ? new Date(Math.floor(nowMs / 1000) * 1000 - Math.round(uptime) * 1000).toISOString()
      : null;
  return { status: row.status, uptime, cpuUsage, memoryUsage, bootTime };
}

/**
 * Splits a Proxmox property string (`a=1,b=2`; an item without `=` is the default key's value).
 * Keys are lower-cased.
 */
export function parsePropertyString(value: string, defaultKey: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) out.set(defaultKey, item);
    else out.set(item.slice(0, eq).trim().toLowerCase(), item.slice(eq + 1).trim());
  }
  return out;
}

const asNumber = (v: string | number | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** Parses a PVE boolean written in any of its forms (1/0/on/off/yes/no/true/false). */
export function parsePveBool(value: string | number | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = String(value).trim().toLowerCase();
  if (['1', 'on', 'yes', 'true'].includes(v)) return true;
  if (['0', 'off', 'no', 'false'].includes(v)) return false;
  return undefined;
}

/** vCPUs: QEMU `vcpus` if set, else sockets × cores (defaults 1); LXC `cores`, null if unlimited. */
export function coresFromConfig(type: GuestType, config: GuestConfig): number | null {
  const cores = asNumber(config.cores);
  if (type === 'lxc') return cores !== undefined && cores > 0 ? cores : null;
  const vcpus = asNumber(config.vcpus);
  if (vcpus !== undefined && vcpus > 0) return vcpus;
  return (asNumber(config.sockets) ?? 1) * (cores ?? 1);
}

/** Memory in MiB: QEMU `memory` property string (`"2048"`, `"current=2048"`, 2048), LXC integer; default 512. */
export function memoryMiBFromConfig(type: GuestType, config: GuestConfig): number {
  const raw = config.memory;
  if (raw === undefined) return 512;
  if (type === 'qemu' && typeof raw === 'string') {
    return asNumber(parsePropertyString(raw, 'current').get('current')) ?? 512;
  }
  return asNumber(raw) ?? 512;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a PVE disk `size=` value (`32G`, `1536M`, `0.5T`, `10GiB`, raw bytes) into bytes (1024-based). */
export function parseSizeToBytes(size: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(size);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toUpperCase()];
  if (unit === undefined) return null;
  return Math.round(Number(m[1]) * unit);
}

const QEMU_DISK_KEY = /^(ide|sata|scsi|virtio)(\d+)$/;
const LXC_DISK_KEY = /^(rootfs|mp\d+)$/;
const QEMU_DISK_ORDER = ['ide', 'sata', 'scsi', 'virtio'];

/** Whether a drive value is a real disk (not a CD-ROM, ISO, cloud-init volume or `none`). */
function isRealDisk(value: string): boolean {
  const props = parsePropertyString(value, 'file');
  const file = props.get('file') ?? '';
  if (props.get('media') === 'cdrom') return false;
  if (file === 'none' || file === 'cdrom' || /cloudinit/.test(file)) return false;
  return true;
}

function sizeOf(value: string): number | null {
  const size = parsePropertyString(value, 'file').get('size');
  return size === undefined ? null : parseSizeToBytes(size);
}

function diskKeys(type: GuestType, config: GuestConfig): string[] {
  const keys = Object.keys(config).filter((k) => (type === 'qemu' ? QEMU_DISK_KEY : LXC_DISK_KEY).test(k));
  const rank = (k: string): [number, number] => {
    if (k === 'rootfs') return [-1, 0];
    const q = QEMU_DISK_KEY.exec(k);
    if (q) return [QEMU_DISK_ORDER.indexOf(q[1] ?? ''), Number(q[2])];
    return [0, Number(k.slice(2))];
  };
  return keys
    .filter((k) => {
      const v = config[k];
      return typeof v === 'string' && isRealDisk(v);
    })
    .sort((a, b) => {
      const [ra, na] = rank(a);
      const [rb, nb] = rank(b);
      return ra - rb || na - nb;
    });
}

/**
 * Size of the boot disk in bytes, as Proxmox's `maxdisk` counts it: QEMU's first disk in the
 * `boot: order=` list (else `bootdisk`, else the first disk), LXC's rootfs. Null when unknown.
 */
export function bootDiskBytesFromConfig(type: GuestType, config: GuestConfig): number | null {
  const disks = diskKeys(type, config);
  let key: string | undefined;
  if (type === 'qemu') {
    const order =
      config.boot === undefined ? undefined : parsePropertyString(config.boot, 'legacy').get('order');
    key = order?.split(';').find((k) => disks.includes(k.trim()));
    if (key === undefined && config.bootdisk !== undefined && disks.includes(config.bootdisk))
      key = config.bootdisk;
  }
  key ??= disks[0];
  if (key === undefined) return null;
  const value = config[key];
  return typeof value === 'string' ? sizeOf(value) : null;
}

/** Sum of the sizes of all disks (CD-ROMs, cloud-init drives, EFI/TPM state and unused volumes excluded). */
export function totalDiskBytesFromConfig(type: GuestType, config: GuestConfig): number {
  let total = 0;
  for (const key of diskKeys(type, config)) {
    const value = config[key];
    if (typeof value === 'string') total += sizeOf(value) ?? 0;
  }
  return total;
}

const QEMU_WINDOWS = new Set(['wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11']);
const QEMU_LINUX = new Set(['l24', 'l26']);
const LXC_LINUX = new Set([
  'debian',
  'devuan',
  'ubuntu',
  'centos',
  'fedora',
  'opensuse',
  'archlinux',
  'alpine',
  'gentoo',
  'nixos',
]);

/**
 * OS category from `ostype`. QEMU: win and w2k-family values → windows, l24/l26 → linux,
 * solaris/other/missing → other; an unknown future `win*`/`w*` value still counts as windows.
 * LXC: every distribution → linux; `unmanaged` or missing → other.
 */
export function categoryFromOstype(type: GuestType, ostype: string | undefined): OsCategory {
  const os = ostype?.trim().toLowerCase();
  if (os === undefined || os === '') return 'other';
  if (type === 'lxc') return LXC_LINUX.has(os) ? 'linux' : 'other';
  if (QEMU_WINDOWS.has(os) || /^win\d+$/.test(os)) return 'windows';
  if (QEMU_LINUX.has(os)) return 'linux';
  return 'other';
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const QEMU_NIC_MODELS = new Set([
  'e1000',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
]);

/** Normalizes a MAC to upper-case colon form, or null if it is not a MAC. */
export function normalizeMac(mac: string | undefined): string | null {
  if (mac === undefined) return null;
  const m = mac.trim().replace(/-/g, ':');
  return MAC.test(m) ? m.toUpperCase() : null;
}

function netIndexes(config: GuestConfig, prefix: string): number[] {
  const re = new RegExp(`^${prefix}(\\d+)$`);
  return Object.keys(config)
    .map((k) => re.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** A NIC of a guest config. */
export interface ConfigNic {
  index: number;
  /** Upper-case MAC, null if none is set. */
  mac: string | null;
}

/** NICs from net0..netN in index order: QEMU `<model>=MAC` or `macaddr=`, LXC `hwaddr=`. */
export function nicsFromConfig(type: GuestType, config: GuestConfig): ConfigNic[] {
  return netIndexes(config, 'net').map((index) => {
    const value = config[`net${index}`];
    if (typeof value !== 'string') return { index, mac: null };
    const props = parsePropertyString(value, 'model');
    let mac: string | undefined;
    if (type === 'lxc') mac = props.get('hwaddr');
    else {
      mac = props.get('macaddr');
      for (const [key, v] of props) if (mac === undefined && QEMU_NIC_MODELS.has(key)) mac = v;
    }
    return { index, mac: normalizeMac(mac) };
  });
}

/** MACs of all NICs in index order (upper case). */
export function macsFromConfig(type: GuestType, config: GuestConfig): string[] {
  return nicsFromConfig(type, config)
    .map((n) => n.mac)
    .filter((m): m is string => m !== null);
}

/** A static IPv4/IPv6 from the config, per NIC index. */
export interface StaticIp {
  index: number;
  address: string;
  family: 'ipv4' | 'ipv6';
}

/** Static IPs: QEMU cloud-init `ipconfigN` `ip=`/`ip6=`, LXC `netN` `ip=`/`ip6=`; dhcp/auto/manual ignored. */
export function staticIpsFromConfig(type: GuestType, config: GuestConfig): StaticIp[] {
  const prefix = type === 'qemu' ? 'ipconfig' : 'net';
  const out: StaticIp[] = [];
  for (const index of netIndexes(config, prefix)) {
    const value = config[`${prefix}${index}`];
    if (typeof value !== 'string') continue;
    const props = parsePropertyString(value, type === 'qemu' ? 'ip' : 'name');
    for (const [key, family] of [
      ['ip', 'ipv4'],
      ['ip6', 'ipv6'],
    ] as const) {
      const address = props.get(key)?.split('/')[0]?.trim();
      if (
        address === undefined ||
        address === '' ||
        ['dhcp', 'auto', 'manual'].includes(address.toLowerCase())
      )
        continue;
      if (family === 'ipv4' ? isIpv4(address) : address.includes(':')) out.push({ index, address, family });
    }
  }
  return out;
}

/** Whether the QEMU `agent` option enables the agent (`1`, `enabled=1,...`, `0`, `enabled=0`). */
export function agentEnabled(agent: string | number | undefined): boolean {
  if (agent === undefined) return false;
  const enabled = parsePropertyString(String(agent), 'enabled').get('enabled');
  return parsePveBool(enabled) ?? false;
}

/** One in-guest interface, normalized from QGA or LXC `/interfaces`. */
export interface GuestInterface {
  name: string;
  /** Upper-case MAC, null if unknown. */
  mac: string | null;
  addresses: { address: string; family: 'ipv4' | 'ipv6' }[];
}

function familyOf(type: string, address: string): 'ipv4' | 'ipv6' {
  const t = type.toLowerCase();
  if (t === 'ipv4' || t === 'inet') return 'ipv4';
  if (t === 'ipv6' || t === 'inet6') return 'ipv6';
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** Normalizes QGA `network-get-interfaces` entries (`ipv4`/`ipv6`). */
export function interfacesFromAgent(entries: readonly AgentInterface[]): GuestInterface[] {
  return entries.map((e) => ({
    name: e.name,
    mac: normalizeMac(e['hardware-address']),
    addresses: (e['ip-addresses'] ?? []).map((a) => ({
      address: a['ip-address'],
      family: familyOf(a['ip-address-type'], a['ip-address']),
    })),
  }));
}

/** Normalizes LXC `/interfaces` entries: `ip-addresses` (`inet`/`inet6`, PVE 8.4+) or the older `inet`/`inet6`. */
export function interfacesFromLxc(entries: readonly LxcInterface[] | null): GuestInterface[] {
  if (entries === null) return [];
  return entries.map((e) => {
    const list = e['ip-addresses'];
    const addresses: GuestInterface['addresses'] = [];
    if (list !== undefined) {
      for (const a of list)
        addresses.push({ address: a['ip-address'], family: familyOf(a['ip-address-type'], a['ip-address']) });
    } else {
      const v4 = e.inet?.split('/')[0];
      const v6 = e.inet6?.split('/')[0];
      if (v4) addresses.push({ address: v4, family: 'ipv4' });
      if (v6) addresses.push({ address: v6, family: 'ipv6' });
    }
    return { name: e.name, mac: normalizeMac(e['hardware-address'] ?? e.hwaddr), addresses };
  });
}

/** Interface names that are never a guest's own address: loopback, container and virtual bridges. */
const EXCLUDED_INTERFACE =
  /^(lo|lo\d*|loopback.*|docker.*|br-.*|veth.*|virbr.*|cni.*|flannel.*|cali.*|cilium.*|vxlan.*|weave.*|kube-.*|lxcbr.*|lxdbr.*|podman.*|tunl\d*|vnet\d*)$/i;

/** Whether an interface name is loopback or docker/bridge-like (never used for the guest IP). */
export function isExcludedInterface(name: string): boolean {
  return EXCLUDED_INTERFACE.test(name.trim());
}

function isIpv4(address: string): boolean {
  const parts = address.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * Whether an address may be reported as the guest's IP. Never 127.0.0.1, ::1, unspecified,
 * link-local (169.254/16, fe80::/10) or multicast; other 127/8 addresses only for a simulated cluster.
 */
export function isUsableAddress(address: string, family: 'ipv4' | 'ipv6', simulated: boolean): boolean {
  if (family === 'ipv4') {
    if (!isIpv4(address)) return false;
    const [a, b] = address.split('.').map(Number);
    if (address === '127.0.0.1' || a === 0 || address === '255.255.255.255') return false;
    if (a === 169 && b === 254) return false;
    if (a !== undefined && a >= 224) return false;
    if (a === 127) return simulated;
    return true;
  }
  const v6 = address.toLowerCase().split('%')[0] ?? '';
  if (!v6.includes(':')) return false;
  if (v6 === '::1' || v6 === '::') return false;
  if (/^fe[89ab]/.test(v6) || v6.startsWith('ff')) return false;
  return true;
}

/** Inputs of {@link selectGuestIp}. */
export interface IpSelectionInput {
  /** Live interfaces from the agent or LXC; empty when there is no live data. */
  interfaces: readonly GuestInterface[];
  /** MAC of the guest's first NIC (net0 or lowest index), any case. */
  firstMac: string | null;
  /** Static IPs from the config (fallback). */
  staticIps: readonly StaticIp[];
  /** The cluster is the simulator (allows 127/8 except 127.0.0.1). */
  simulated: boolean;
}

/**
 * Picks the guest's IP deterministically: an IPv4 on the interface whose MAC matches the first NIC;
 * else an IPv4 on another eligible interface (reported order); else a static IPv4 from the config
 * (lowest NIC first); else a global IPv6 in the same order; else null. Loopback, link-local and
 * docker/bridge-like interfaces are never used.
 */
export function selectGuestIp(input: IpSelectionInput): string | null {
  const first = normalizeMac(input.firstMac ?? undefined);
  const eligible = input.interfaces.filter((i) => !isExcludedInterface(i.name));
  const matched = first === null ? [] : eligible.filter((i) => i.mac === first);
  const others = eligible.filter((i) => !matched.includes(i));
  const staticSorted = [...input.staticIps].sort((a, b) => a.index - b.index);
  const pick = (ifaces: readonly GuestInterface[], family: 'ipv4' | 'ipv6'): string | null => {
    for (const i of ifaces)
      for (const a of i.addresses)
        if (a.family === family && isUsableAddress(a.address, family, input.simulated)) return a.address;
    return null;
  };
  const pickStatic = (family: 'ipv4' | 'ipv6'): string | null =>
    staticSorted.find((s) => s.family === family && isUsableAddress(s.address, family, input.simulated))
      ?.address ?? null;
  return (
    pick(matched, 'ipv4') ??
    pick(others, 'ipv4') ??
    pickStatic('ipv4') ??
    pick(matched, 'ipv6') ??
    pick(others, 'ipv6') ??
    pickStatic('ipv6')
  );
}

/** Splits a raw `tags` value (`;`-joined by the API, but `,`/space in hand-edited configs). */
export function parseTags(tags: string | undefined): string[] {
  if (tags === undefined) return [];
  return tags.split(/[;,\s]+/).filter((t) => t !== '');
}

import { createHash } from 'node:crypto';
import type { ClusterModel, SimNode } from '#simulator/cluster-model.ts';
import { parseUpid, type SimTask } from '#simulator/cluster-model.ts';
import { isUp, liveInterfaces, type SimGuest } from '#simulator/fleet.ts';
import {
  allowsAgent,
  DEFAULT_PVE_MAJOR,
  DEFAULT_TOKEN_PRIVILEGES,
  type PveVersionProfile,
  pveProfile,
  withParentPools,
} from '#simulator/pve-version.ts';
import type { EndpointClass, ExtraToken } from '#simulator/types.ts';

/** Who is calling: a token (maybe restricted) or a ticket user. */
export interface Principal {
  user: string;
  /** `user@realm!token` for tokens, the user id for tickets. */
  tokenFull: string;
  token?: ExtraToken;
  viaTicket: boolean;
}

/** A parsed API call. */
export interface ApiRequest {
  method: string;
  /** Path below /api2/json, starting with '/'. */
  path: string;
  params: Record<string, string>;
  principal: Principal;
  now: number;
}

/** A handler result: data in the `{"data": ...}` envelope, or a PVE error. */
export type ApiResult =
  | { ok: true; data: unknown; extra?: Record<string, unknown> }
  | { ok: false; status: number; message: string; noBody?: boolean; errors?: Record<string, string> };

/** How a path is classified and routed. */
export interface Route {
  cls: EndpointClass;
  /** Node the call is proxied to (per-node calls), if any. */
  node?: string;
}

const GUEST_RE = /^\/nodes\/([^/]+)\/(qemu|lxc)\/(\d+)(\/.*)?$/;

/** Classifies a path below /api2/json into its endpoint class and target node. */
export function classify(method: string, path: string): Route {
  if (path === '/version') return { cls: 'version' };
  if (path === '/cluster/resources') return { cls: 'resources' };
  if (path === '/cluster/status') return { cls: 'cluster_status' };
  if (path === '/nodes') return { cls: 'nodes' };
  if (path === '/pools' || path.startsWith('/pools/')) return { cls: 'pools' };
  if (path === '/cluster/tasks') return { cls: 'task' };
  const nodeMatch = /^\/nodes\/([^/]+)(\/.*)?$/.exec(path);
  if (nodeMatch === null) return { cls: 'other' };
  const node = decodeURIComponent(nodeMatch[1] ?? '');
  const rest = nodeMatch[2] ?? '';
  if (rest === '/status') return { cls: 'node_status', node };
  if (rest === '/tasks' || rest.startsWith('/tasks/')) return { cls: 'task', node };
  const g = GUEST_RE.exec(path);
  if (g !== null) {
    const sub = g[4] ?? '';
    if (sub === '/config') return { cls: 'config', node };
    if (sub === '/status/current') return { cls: 'status', node };
    if (sub.startsWith('/agent/')) return { cls: 'agent', node };
    if (sub === '/interfaces') return { cls: 'interfaces', node };
    if (method === 'POST' && /^\/status\/(start|stop|shutdown|reboot)$/.test(sub))
      return { cls: 'power', node };
  }
  return { cls: 'other', node };
}

function fullRights(p: Principal): boolean {
  return p.token === undefined || p.token.vmids === undefined;
}

function privilegesOf(p: Principal): readonly string[] {
  return p.token?.privileges ?? DEFAULT_TOKEN_PRIVILEGES;
}

function onVm(p: Principal, vmid: number): boolean {
  return p.token === undefined || p.token.vmids === undefined || p.token.vmids.includes(vmid);
}

function can(p: Principal, vmid: number, priv: string): boolean {
  if (p.token === undefined) return true;
  return privilegesOf(p).includes(priv) && onVm(p, vmid);
}

/** Guest-agent access as a node of this version checks it (any one of its agent privileges). */
function canUseAgent(p: Principal, vmid: number, profile: PveVersionProfile): boolean {
  if (p.token === undefined) return true;
  return allowsAgent(profile, privilegesOf(p)) && onVm(p, vmid);
}

function sysAudit(p: Principal): boolean {
  if (p.token === undefined) return true;
  return p.token.sysAudit ?? p.token.vmids === undefined;
}

function fail(status: number, message: string): ApiResult {
  return { ok: false, status, message };
}

function ok(data: unknown, extra?: Record<string, unknown>): ApiResult {
  return extra === undefined ? { ok: true, data } : { ok: true, data, extra };
}

function permFail(path: string, priv: string): ApiResult {
  return fail(403, `Permission check failed (${path}, ${priv})`);
}

function nodeStats(n: SimNode, now: number): Record<string, number> {
  const bucket = Math.floor(now / 10_000);
  return {
    uptime: Math.floor((now - n.bootAt) / 1000),
    cpu: ((n.nodeid * 7919 + bucket * 104729) % 1000) / 4000,
    maxcpu: 32,
    mem: 40 * 1024 ** 3 + ((bucket * n.nodeid) % 1000) * 1048576,
    maxmem: 128 * 1024 ** 3,
    disk: 20 * 1024 ** 3,
    maxdisk: 100 * 1024 ** 3,
  };
}

/** Whether a node of version `reader` can read the stats a node of version `writer` publishes. */
function readsStatsOf(reader: PveVersionProfile, writer: PveVersionProfile): boolean {
  return writer.major <= reader.major || reader.readsNewerStats;
}

/**
 * Memory figures of a running guest on a node of this version: on PVE 9 QEMU rows carry `memhost`
 * (host-side, QEMU's own overhead included) and `mem` becomes that figure when the VM has no
 * balloon statistics, so it can exceed `maxmem`.
 */
function memFigures(
  profile: PveVersionProfile,
  g: SimGuest,
  mem: number,
  maxmem: number,
): { mem: number; memhost?: number } {
  if (!profile.memhost || g.type !== 'qemu') return { mem };
  if (!isUp(g)) return { mem, memhost: 0 };
  // QEMU's own overhead: tens of MiB plus a small share of the guest's RAM.
  const overhead = 48 * 1048576 + Math.floor(maxmem * 0.03);
  if (g.noBalloonStats === true) {
    // A guest that has touched all its RAM: the cgroup holds all of it plus QEMU itself.
    const memhost = maxmem + overhead;
    return { mem: memhost, memhost };
  }
  return { mem, memhost: mem + overhead };
}

/**
 * A /cluster/resources guest row, with PVE's missing-field rules for offline nodes and for nodes
 * whose stats the answering node (`viewer`, default: one that reads everything) cannot read.
 */
export function guestRow(
  m: ClusterModel,
  g: SimGuest,
  now: number,
  p: Principal,
  viewer?: string,
): Record<string, unknown> {
  const row: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    type: g.type,
    vmid: g.vmid,
    node: g.node,
  };
  const node = m.node(g.node);
  const writer = m.profileOf(g.node);
  const readable = viewer === undefined || readsStatsOf(m.profileOf(viewer), writer);
  // pmxcfs keeps a dead node's last stats records for a while (5 min on real PVE), then drops them.
  const staleAt = node !== undefined && !node.online ? (node.offlineSince ?? now) : undefined;
  if (node === undefined || !readable || (staleAt !== undefined && now - staleAt >= m.offlineStaleMs)) {
    row.status = 'unknown';
  } else {
    const s = m.stats(g, staleAt ?? now);
    const maxmem = g.memoryMiB * 1048576;
    const mem = memFigures(writer, g, s.mem, maxmem);
    row.name = g.name;
    row.status = g.status;
    row.uptime = s.uptime;
    row.cpu = s.cpu;
    row.maxcpu = m.maxcpu(g);
    row.mem = mem.mem;
    if (mem.memhost !== undefined) row.memhost = mem.memhost;
    row.maxmem = maxmem;
    row.disk = s.disk;
    row.maxdisk = g.bootDiskBytes;
    row.netin = s.netin;
    row.netout = s.netout;
    row.diskread = s.diskread;
    row.diskwrite = s.diskwrite;
    row.template = g.template ? 1 : 0;
  }
  if (g.tags.length > 0) row.tags = g.tags.join(';');
  if (g.lock !== undefined) row.lock = g.lock;
  if (g.hastate !== undefined) row.hastate = g.hastate;
  if (g.pool !== undefined && fullRights(p)) row.pool = g.pool;
  return row;
}

function nodeRow(
  m: ClusterModel,
  n: SimNode,
  now: number,
  p: Principal,
  viewer: string,
): Record<string, unknown> {
  const row: Record<string, unknown> = {
    id: `node/${n.name}`,
    type: 'node',
    node: n.name,
    status: n.online ? 'online' : 'offline',
    level: '',
  };
  const reader = m.profileOf(viewer);
  const writer = m.profileOf(n.name);
  // The HA node state is listed once the cluster uses HA (since PVE 8.3, so on both versions).
  if (hasHa(m)) row.hastate = n.online ? 'online' : 'unknown';
  if (n.online) {
    row['cgroup-mode'] = 2;
    if (reader.hostArch && writer.hostArch) row['host-arch'] = 'x86_64';
    if (sysAudit(p) && readsStatsOf(reader, writer)) Object.assign(row, nodeStats(n, now));
  }
  return row;
}

function hasHa(m: ClusterModel): boolean {
  for (const g of m.guests.values()) if (g.ha !== undefined) return true;
  return false;
}

/** The local SDN zone of a node: a `network` row from 9.1 nodes, an `sdn` row from older ones. */
function networkRow(m: ClusterModel, n: SimNode, viewer: string): Record<string, unknown> {
  if (m.profileOf(viewer).networkRows && m.profileOf(n.name).networkRows) {
    return {
      id: `network/${n.name}/zone/localnetwork`,
      type: 'network',
      network: 'localnetwork',
      'network-type': 'zone',
      'zone-type': 'simple',
      node: n.name,
      status: 'ok',
    };
  }
  return { id: `sdn/${n.name}/localnetwork`, type: 'sdn', sdn: 'localnetwork', node: n.name, status: 'ok' };
}

function storageRows(m: ClusterModel): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const n of m.nodes) {
    if (!n.online) continue;
    rows.push({
      id: `storage/${n.name}/local`,
      type: 'storage',
      storage: 'local',
      node: n.name,
      status: 'available',
      plugintype: 'dir',
      content: 'iso,vztmpl,backup',
      shared: 0,
      disk: 20 * 1024 ** 3,
      maxdisk: 100 * 1024 ** 3,
    });
    rows.push({
      id: `storage/${n.name}/local-lvm`,
      type: 'storage',
      storage: 'local-lvm',
      node: n.name,
      status: 'available',
      plugintype: 'lvmthin',
      content: 'images,rootdir',
      shared: 0,
      disk: 300 * 1024 ** 3,
      maxdisk: 1800 * 1024 ** 3,
    });
  }
  return rows;
}

/** Every pool id: the guests' pools and their parent pools. */
function poolNames(m: ClusterModel): string[] {
  const set = new Set<string>();
  for (const g of m.guests.values()) if (g.pool !== undefined) set.add(g.pool);
  return withParentPools(set);
}

function resources(m: ClusterModel, req: ApiRequest, viewer: string): ApiResult {
  const type = req.params.type;
  if (type !== undefined && !['vm', 'storage', 'node', 'sdn'].includes(type)) {
    return {
      ok: false,
      status: 400,
      message: 'Parameter verification failed.',
      errors: { type: `value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn'` },
    };
  }
  const rows: Record<string, unknown>[] = [];
  const p = req.principal;
  const all = fullRights(p);
  if (type === undefined || type === 'vm') {
    for (const g of m.guests.values()) {
      if (!all && !can(p, g.vmid, 'VM.Audit')) continue;
      rows.push(guestRow(m, g, req.now, p, viewer));
    }
  }
  if (type === undefined || type === 'node')
    for (const n of m.nodes) rows.push(nodeRow(m, n, req.now, p, viewer));
  if ((type === undefined || type === 'storage') && sysAudit(p)) rows.push(...storageRows(m));
  if (type === undefined || type === 'sdn') {
    for (const n of m.nodes) if (n.online) rows.push(networkRow(m, n, viewer));
  }
  if (type === undefined && all) {
    for (const pool of poolNames(m)) rows.push({ id: `/pool/${pool}`, type: 'pool', pool });
  }
  return ok(rows);
}

function clusterStatus(m: ClusterModel, req: ApiRequest, localNode: string): ApiResult {
  if (!sysAudit(req.principal)) return permFail('/', 'Sys.Audit');
  const online = m.nodes.filter((n) => n.online).length;
  const rows: Record<string, unknown>[] = [
    {
      type: 'cluster',
      id: 'cluster',
      name: m.id,
      nodes: m.nodes.length,
      version: m.nodes.length + 2,
      quorate: online * 2 > m.nodes.length ? 1 : 0,
    },
  ];
  for (const n of m.nodes) {
    rows.push({
      type: 'node',
      id: `node/${n.name}`,
      name: n.name,
      nodeid: n.nodeid,
      ip: n.ip,
      local: n.name === localNode ? 1 : 0,
      online: n.online ? 1 : 0,
      level: '',
    });
  }
  return ok(rows);
}

function nodesList(m: ClusterModel, req: ApiRequest, fingerprint: string): ApiResult {
  return ok(
    m.nodes.map((n) => {
      const row: Record<string, unknown> = {
        id: `node/${n.name}`,
        type: 'node',
        node: n.name,
        status: n.online ? 'online' : 'offline',
        ssl_fingerprint: fingerprint,
        level: '',
      };
      if (n.online && sysAudit(req.principal)) Object.assign(row, nodeStats(n, req.now));
      return row;
    }),
  );
}

function nodeStatus(m: ClusterModel, n: SimNode, req: ApiRequest): ApiResult {
  if (!sysAudit(req.principal)) return permFail(`/nodes/${n.name}`, 'Sys.Audit');
  const s = nodeStats(n, req.now);
  const profile = m.profileOf(n.name);
  const release = profile.kernel.split(' ')[1] ?? '';
  return ok({
    uptime: s.uptime,
    cpu: s.cpu,
    loadavg: ['0.42', '0.38', '0.35'],
    wait: 0.001,
    idle: 0,
    kversion: profile.kernel,
    pveversion: `pve-manager/${profile.version}/${profile.repoid}`,
    cpuinfo: {
      cpus: s.maxcpu,
      sockets: 2,
      cores: 8,
      model: 'Simulated CPU @ 2.40GHz',
      mhz: '2400.000',
      hvm: '1',
      flags: 'fpu vme',
    },
    memory: { total: s.maxmem, used: s.mem, free: (s.maxmem ?? 0) - (s.mem ?? 0) },
    swap: { total: 8 * 1024 ** 3, used: 0, free: 8 * 1024 ** 3 },
    rootfs: {
      total: s.maxdisk,
      used: s.disk,
      avail: (s.maxdisk ?? 0) - (s.disk ?? 0),
      free: (s.maxdisk ?? 0) - (s.disk ?? 0),
    },
    ksm: { shared: 0 },
    'boot-info': { mode: 'efi', secureboot: 0 },
    'current-kernel': {
      sysname: 'Linux',
      release,
      machine: 'x86_64',
      version: '#1 SMP PREEMPT_DYNAMIC',
    },
  });
}

/**
 * The node's interfaces. PVE lists them in the order its config parser's hash yields (not sorted),
 * so the first row differs between nodes: here a fixed order per node, varied by the node id.
 */
function nodeNetwork(n: SimNode): ApiResult {
  const rows: Record<string, unknown>[] = [
    {
      iface: 'eno1',
      type: 'eth',
      active: 1,
      autostart: 1,
      exists: 1,
      families: ['inet'],
      method: 'manual',
      method6: 'manual',
      priority: 3,
    },
    {
      iface: 'vmbr0',
      type: 'bridge',
      active: 1,
      autostart: 1,
      bridge_ports: 'eno1',
      bridge_stp: 'off',
      bridge_fd: '0',
      cidr: `${n.ip}/8`,
      address: n.ip,
      netmask: '8',
      families: ['inet'],
      method: 'static',
      method6: 'manual',
      priority: 4,
    },
    {
      iface: 'vmbr1',
      type: 'bridge',
      active: 1,
      autostart: 1,
      bridge_ports: '',
      bridge_stp: 'off',
      bridge_fd: '0',
      families: ['inet'],
      method: 'manual',
      method6: 'manual',
      priority: 5,
    },
  ];
  const shift = n.nodeid % rows.length;
  return ok([...rows.slice(shift), ...rows.slice(0, shift)]);
}

function guestList(m: ClusterModel, n: SimNode, type: 'qemu' | 'lxc', req: ApiRequest): ApiResult {
  const rows: Record<string, unknown>[] = [];
  for (const g of m.guests.values()) {
    if (g.node !== n.name || g.type !== type || !can(req.principal, g.vmid, 'VM.Audit')) continue;
    const s = m.stats(g, req.now);
    const up = isUp(g);
    const row: Record<string, unknown> = {
      vmid: g.vmid,
      name: g.name,
      status: up ? 'running' : 'stopped',
      cpus: m.maxcpu(g),
      cpu: s.cpu,
      mem: s.mem,
      maxmem: g.memoryMiB * 1048576,
      disk: s.disk,
      maxdisk: g.bootDiskBytes,
      uptime: s.uptime,
      netin: s.netin,
      netout: s.netout,
      diskread: s.diskread,
      diskwrite: s.diskwrite,
    };
    if (type === 'lxc') {
      row.type = 'lxc';
      row.swap = 0;
      row.maxswap = LXC_SWAP_MIB * 1048576;
    }
    if (up) row.pid = 100_000 + g.vmid;
    if (type === 'qemu' && req.params.full === '1' && up) Object.assign(row, fullQemuStatus(g, s));
    if (g.template) row.template = 1;
    if (g.tags.length > 0) row.tags = g.tags.join(';');
    if (g.lock !== undefined) row.lock = g.lock;
    rows.push(row);
  }
  return ok(rows);
}

/** Swap of every container (MiB), as its config says. */
const LXC_SWAP_MIB = 512;

/** What `full=1` adds to a running VM's row: the QMP-side status, per-NIC and per-disk counters. */
function fullQemuStatus(
  g: SimGuest,
  s: { netin: number; netout: number; diskread: number; diskwrite: number },
) {
  const nics: Record<string, unknown> = {};
  g.nics.forEach((_, i) => {
    nics[`tap${g.vmid}i${i}`] = i === 0 ? { netin: s.netin, netout: s.netout } : { netin: 0, netout: 0 };
  });
  const blockstat: Record<string, unknown> = {};
  g.disks.forEach((d, i) => {
    blockstat[d.key] = {
      rd_bytes: i === 0 ? s.diskread : 0,
      wr_bytes: i === 0 ? s.diskwrite : 0,
      rd_operations: i === 0 ? Math.floor(s.diskread / 4096) : 0,
      wr_operations: i === 0 ? Math.floor(s.diskwrite / 4096) : 0,
    };
  });
  return {
    qmpstatus: g.status,
    'running-machine': RUNNING_MACHINE,
    'running-qemu': RUNNING_QEMU,
    'proxmox-support': { 'pbs-library-version': '1.4.1', 'query-bitmap-info': true },
    nics,
    blockstat,
  };
}

const RUNNING_MACHINE = 'pc-i440fx-8.1+pve0';
const RUNNING_QEMU = '8.1.5';

function digestOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex');
}

/**
 * The guest config as PVE returns it (property strings, 0/1, QEMU memory as a string; raw `lxc.*`
 * keys of a container as `[key, value]` pairs under `lxc`). `profile` is the guest's node's version.
 */
export function guestConfig(
  g: SimGuest,
  profile: PveVersionProfile = pveProfile(DEFAULT_PVE_MAJOR),
): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (g.type === 'qemu') {
    c.name = g.name;
    c.sockets = g.sockets;
    c.cores = g.cores;
    if (g.vcpus !== undefined) c.vcpus = g.vcpus;
    c.memory = g.memoryForm === 'current' ? `current=${g.memoryMiB}` : String(g.memoryMiB);
    if (g.ostype !== null) c.ostype = g.ostype;
    if (g.agentConfig !== undefined) c.agent = g.agentConfig;
    c.scsihw = 'virtio-scsi-single';
    c.numa = 0;
    c.cpu = 'x86-64-v2-AES';
    if (g.category === 'windows') {
      c.machine = 'pc-q35-8.1';
      c.bios = 'ovmf';
      c.efidisk0 = `local-lvm:vm-${g.vmid}-disk-9,efitype=4m,pre-enrolled-keys=1,size=4M`;
      c.tpmstate0 = `local-lvm:vm-${g.vmid}-disk-8,size=4M,version=v2.0`;
    }
    for (const d of g.disks) c[d.key] = `${d.volume},iothread=1,size=${d.sizeText}`;
    const cloudInit = g.nics.some((n) => n.staticIp !== null);
    c.ide2 = cloudInit ? `local-lvm:vm-${g.vmid}-cloudinit,media=cdrom` : 'none,media=cdrom';
    c.boot = `order=${g.disks[0]?.key ?? 'scsi0'};ide2;net0`;
    g.nics.forEach((n, i) => {
      c[`net${i}`] = `${n.model}=${n.mac},bridge=${n.bridge},firewall=1`;
      if (n.staticIp !== null) {
        const gw = n.staticIp === 'dhcp' ? '' : `,gw=127.${n.staticIp.split('.')[1]}.0.1`;
        c[`ipconfig${i}`] = n.staticIp === 'dhcp' ? 'ip=dhcp' : `ip=${n.staticIp}${gw}`;
      }
    });
    if (g.noBalloonStats === true) c.balloon = 0;
    c.smbios1 = `uuid=${g.uuid}`;
    // A UUID of its own (like PVE's), derived from the guest's so that it is stable per guest.
    const genid = g.uuid.replace(/-/g, '').split('').reverse().join('');
    c.vmgenid = `${genid.slice(0, 8)}-${genid.slice(8, 12)}-${genid.slice(12, 16)}-${genid.slice(16, 20)}-${genid.slice(20)}`;
    c.meta = `creation-qemu=9.0.2,ctime=${g.ctime}`;
  } else {
    c.hostname = g.name;
    c.cores = g.cores;
    c.memory = g.memoryMiB;
    c.swap = LXC_SWAP_MIB;
    if (g.ostype !== null) c.ostype = g.ostype;
    c.arch = 'amd64';
    c.unprivileged = 1;
    c.features = 'nesting=1';
    const root = g.disks[0];
    if (root !== undefined) c.rootfs = `${root.volume},size=${root.sizeText}`;
    const oci = profile.ociContainers ? g.oci : undefined;
    g.nics.forEach((n, i) => {
      const ip = n.staticIp === null ? '' : `,ip=${n.staticIp}`;
      const gw =
        n.staticIp !== null && n.staticIp !== 'dhcp' ? `,gw=127.${n.staticIp.split('.')[1]}.0.1` : '';
      const managed = oci === undefined ? '' : ',host-managed=1';
      c[`net${i}`] =
        `name=eth${i},bridge=${n.bridge},firewall=1${gw},hwaddr=${n.mac}${managed}${ip},type=veth`;
    });
    if (oci !== undefined) {
      c.entrypoint = oci.entrypoint;
      c.env = oci.env;
    }
    // An OCI container's raw keys come with its OCI support (a node of a version without it has neither).
    if (g.rawLxc !== undefined && (oci !== undefined || g.oci === undefined)) {
      c.lxc = g.rawLxc.map(([k, v]) => [k, v]);
    }
  }
  c.onboot = g.vmid % 3 === 0 ? 1 : 0;
  if (g.tags.length > 0) c.tags = g.tags.join(';');
  if (g.template) c.template = 1;
  if (g.lock !== undefined) c.lock = g.lock;
  c.digest = digestOf(c);
  return c;
}

function haStatus(g: SimGuest, profile: PveVersionProfile, now: number): Record<string, unknown> {
  if (g.ha === undefined) return { managed: 0 };
  const unprocessed = profile.haStateNullUntilProcessed && now < (g.haPendingUntil ?? 0);
  const out: Record<string, unknown> = { managed: 1, state: unprocessed ? null : (g.hastate ?? 'started') };
  if (profile.haGroupInStatus) out.group = g.ha.group;
  return out;
}

function pressureStats(g: SimGuest, up: boolean): Record<string, number> {
  const some = up ? (g.statSeed % 500) / 100 : 0;
  const out: Record<string, number> = {
    pressurecpusome: some,
    pressureiosome: some / 2,
    pressureiofull: some / 4,
    pressurememorysome: some / 8,
    pressurememoryfull: some / 16,
  };
  if (g.type === 'qemu') out.pressurecpufull = some / 2;
  return out;
}

function statusCurrent(m: ClusterModel, g: SimGuest, now: number): Record<string, unknown> {
  const s = m.stats(g, now);
  const up = isUp(g);
  const profile = m.profileOf(g.node);
  const maxmem = g.memoryMiB * 1048576;
  const mem = memFigures(profile, g, s.mem, maxmem);
  const out: Record<string, unknown> = {
    vmid: g.vmid,
    name: g.name,
    status: up ? 'running' : 'stopped',
    cpus: m.maxcpu(g),
    cpu: s.cpu,
    mem: mem.mem,
    maxmem,
    disk: s.disk,
    maxdisk: g.bootDiskBytes,
    netin: s.netin,
    netout: s.netout,
    diskread: s.diskread,
    diskwrite: s.diskwrite,
    uptime: s.uptime,
    ha: haStatus(g, profile, now),
  };
  if (mem.memhost !== undefined) out.memhost = mem.memhost;
  if (profile.pressure) Object.assign(out, pressureStats(g, up));
  if (g.type === 'qemu') {
    out.qmpstatus = g.status;
    if (g.agentConfig !== undefined && g.agent !== 'disabled') out.agent = 1;
    if (up) {
      out['running-machine'] = RUNNING_MACHINE;
      out['running-qemu'] = RUNNING_QEMU;
    }
  } else {
    out.type = 'lxc';
    out.swap = 0;
    out.maxswap = LXC_SWAP_MIB * 1048576;
  }
  if (up) out.pid = 100_000 + g.vmid;
  if (g.lock !== undefined) out.lock = g.lock;
  if (g.tags.length > 0) out.tags = g.tags.join(';');
  if (g.template) out.template = 1;
  return out;
}

function agentInterfaces(g: SimGuest, starting: boolean): ApiResult {
  if (g.agentConfig === undefined) return fail(500, 'No QEMU guest agent configured');
  if (!isUp(g)) return fail(500, `VM ${g.vmid} is not running`);
  const ifaces = liveInterfaces(g);
  if (ifaces === null || starting || g.agent === 'disabled' || g.agent === 'not-running') {
    return fail(500, 'QEMU guest agent is not running');
  }
  return ok({
    result: ifaces.map((i) => {
      const row: Record<string, unknown> = { name: i.name };
      if (i.mac !== '') row['hardware-address'] = i.mac;
      const addrs: Record<string, unknown>[] = [];
      if (i.ipv4 !== null) addrs.push({ 'ip-address': i.ipv4, 'ip-address-type': 'ipv4', prefix: i.prefix });
      if (i.ipv6 !== undefined) addrs.push({ 'ip-address': i.ipv6, 'ip-address-type': 'ipv6', prefix: 128 });
      // Right after boot (no DHCP lease yet) the agent omits ip-addresses entirely.
      if (addrs.length > 0) row['ip-addresses'] = addrs;
      row.statistics = {
        'rx-bytes': 1000 + g.vmid,
        'rx-packets': 10,
        'rx-errs': 0,
        'rx-dropped': 0,
        'tx-bytes': 500 + g.vmid,
        'tx-packets': 5,
        'tx-errs': 0,
        'tx-dropped': 0,
      };
      return row;
    }),
  });
}

function agentOsinfo(g: SimGuest, starting: boolean): ApiResult {
  const unavailable = agentUnavailable(g, starting);
  if (unavailable !== null) return unavailable;
  if (g.category === 'windows') {
    return ok({
      result: {
        id: 'mswindows',
        name: 'Microsoft Windows',
        'pretty-name': 'Windows Server 2022 Standard',
        version: 'Microsoft Windows Server 2022',
        'version-id': '2022',
        'kernel-release': '20348',
        'kernel-version': '10.0',
        machine: 'x86_64',
        variant: 'server',
        'variant-id': 'server',
      },
    });
  }
  return ok({
    result: {
      id: 'debian',
      name: 'Debian GNU/Linux',
      'pretty-name': 'Debian GNU/Linux 12 (bookworm)',
      version: '12 (bookworm)',
      'version-id': '12',
      'kernel-release': '6.1.0-27-amd64',
      'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)',
      machine: 'x86_64',
    },
  });
}

function lxcInterfaces(g: SimGuest): ApiResult {
  const ifaces = liveInterfaces(g);
  // A stopped container yields {"data":null}, not an error.
  if (ifaces === null) return ok(null);
  return ok(
    ifaces.map((i) => {
      const row: Record<string, unknown> = { name: i.name, hwaddr: i.mac, 'hardware-address': i.mac };
      const addrs: Record<string, unknown>[] = [];
      if (i.ipv4 !== null) {
        row.inet = `${i.ipv4}/${i.prefix}`;
        addrs.push({ 'ip-address': i.ipv4, 'ip-address-type': 'inet', prefix: i.prefix });
      }
      if (i.ipv6 !== undefined) {
        row.inet6 = `${i.ipv6}/128`;
        addrs.push({ 'ip-address': i.ipv6, 'ip-address-type': 'inet6', prefix: 128 });
      }
      row['ip-addresses'] = addrs;
      return row;
    }),
  );
}

function taskStatus(
  m: ClusterModel,
  node: SimNode,
  upidRaw: string,
  sub: string,
  req: ApiRequest,
): ApiResult {
  const upid = decodeURIComponent(upidRaw);
  const parsed = parseUpid(upid);
  if (parsed === null) {
    return {
      ok: false,
      status: 400,
      message: 'Parameter verification failed.',
      errors: { upid: 'unable to parse worker upid' },
    };
  }
  const task = m.tasks.get(upid);
  if (task === undefined || task.node !== node.name) return fail(400, 'upid: no such task');
  const p = req.principal;
  const own = task.user === p.user && (p.token === undefined || task.tokenid === p.tokenFull.split('!')[1]);
  if (!own && !sysAudit(p)) return permFail(`/nodes/${node.name}`, 'Sys.Audit');
  if (sub === '/log') {
    // The task's log file as written so far; PVE answers an empty one with a single "no content" line.
    const lines = task.log.length > 0 ? task.log : ['no content'];
    return ok(
      lines.map((t, i) => ({ n: i + 1, t })),
      { total: lines.length },
    );
  }
  const out: Record<string, unknown> = {
    upid: task.upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pstart,
    starttime: task.starttime,
    type: task.type,
    id: task.id,
    user: task.user,
    status: task.done ? 'stopped' : 'running',
  };
  if (task.tokenid !== undefined) out.tokenid = task.tokenid;
  if (task.done) out.exitstatus = task.exitstatus;
  return ok(out);
}

/** Whether the caller may see a task: their own (same user and token), or any with Sys.Audit. */
function seesTask(p: Principal, task: SimTask): boolean {
  const own = task.user === p.user && (p.token === undefined || task.tokenid === p.tokenFull.split('!')[1]);
  return own || sysAudit(p);
}

/** A task as the task lists show it: finished ones carry `status` (the exit status) and `endtime`. */
function taskRow(task: SimTask): Record<string, unknown> {
  const row: Record<string, unknown> = {
    upid: task.upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pstart,
    starttime: task.starttime,
    type: task.type,
    id: task.id,
    user: task.user,
  };
  if (task.tokenid !== undefined) row.tokenid = task.tokenid;
  if (task.done) {
    row.status = task.exitstatus;
    row.endtime = Math.floor(task.endsAt / 1000);
  }
  return row;
}

function newestFirst(a: SimTask, b: SimTask): number {
  return b.starttime - a.starttime || b.pid - a.pid;
}

function badParam(name: string, text: string): ApiResult {
  return { ok: false, status: 400, message: 'Parameter verification failed.', errors: { [name]: text } };
}

/**
 * `GET /nodes/{node}/tasks`: the node's tasks, newest first, with `total`. Like PVE, `source`
 * defaults to `archive` (finished tasks only); `active` lists running ones and `all` both.
 */
function nodeTasks(m: ClusterModel, node: SimNode, req: ApiRequest): ApiResult {
  const q = req.params;
  const source = q.source ?? 'archive';
  if (!['archive', 'active', 'all'].includes(source))
    return badParam(
      'source',
      `value '${source}' does not have a value in the enumeration 'archive, active, all'`,
    );
  for (const name of ['start', 'limit', 'vmid', 'since', 'until'] as const) {
    const v = q[name];
    if (v !== undefined && !/^\d+$/.test(v))
      return badParam(name, `type check ('integer') failed - got '${v}'`);
  }
  const start = Number(q.start ?? 0);
  const limit = Number(q.limit ?? 50);
  const matches = [...m.tasks.values()]
    .filter((t) => t.node === node.name && seesTask(req.principal, t))
    .filter((t) => (source === 'archive' ? t.done : source === 'active' ? !t.done : true))
    .filter((t) => q.vmid === undefined || t.id === q.vmid)
    .filter((t) => q.typefilter === undefined || t.type === q.typefilter)
    .filter((t) => q.userfilter === undefined || t.user.includes(q.userfilter))
    .filter((t) => q.errors !== '1' || (t.done && t.exitstatus !== 'OK'))
    .filter((t) => q.since === undefined || t.starttime >= Number(q.since))
    .filter((t) => q.until === undefined || t.starttime <= Number(q.until))
    .sort(newestFirst);
  return ok(matches.slice(start, start + limit).map(taskRow), { total: matches.length });
}

/** `GET /cluster/tasks`: recent tasks of every node (running and finished), newest first. */
function clusterTasks(m: ClusterModel, req: ApiRequest): ApiResult {
  return ok(
    [...m.tasks.values()]
      .filter((t) => seesTask(req.principal, t))
      .sort(newestFirst)
      .map(taskRow),
  );
}

/** `GET /cluster/nextid`: the lowest free VMID from 100 (a string, as PVE sends it), or a check of `vmid`. */
function nextId(m: ClusterModel, req: ApiRequest): ApiResult {
  const wanted = req.params.vmid;
  if (wanted !== undefined) {
    if (!/^\d+$/.test(wanted) || Number(wanted) < 100 || Number(wanted) > 999_999_999)
      return badParam('vmid', `value must have a minimum value of 100`);
    return m.guests.has(Number(wanted)) ? badParam('vmid', `VM ${wanted} already exists`) : ok(wanted);
  }
  let id = 100;
  while (m.guests.has(id)) id++;
  return ok(String(id));
}

/** The storage definitions of every node (`/storage`, storage.cfg). */
const STORAGE_CONFIG: readonly Record<string, unknown>[] = [
  { storage: 'local', type: 'dir', path: '/var/lib/vz', content: 'backup,iso,vztmpl', shared: 0 },
  { storage: 'local-lvm', type: 'lvmthin', thinpool: 'data', vgname: 'pve', content: 'images,rootdir' },
];

/** Sizes of a node's storages in bytes: [used, total]. */
const STORAGE_SIZES: Record<string, [number, number]> = {
  local: [20 * 1024 ** 3, 100 * 1024 ** 3],
  'local-lvm': [300 * 1024 ** 3, 1800 * 1024 ** 3],
};

function storageConfig(req: ApiRequest): ApiResult {
  if (!sysAudit(req.principal)) return ok([]);
  const type = req.params.type;
  return ok(
    STORAGE_CONFIG.filter((c) => type === undefined || c.type === type).map((c) => ({
      ...c,
      digest: digestOf(c),
    })),
  );
}

/** `GET /nodes/{node}/storage`: each storage's state and usage on that node, filtered like PVE's. */
function nodeStorage(node: SimNode, req: ApiRequest): ApiResult {
  if (!sysAudit(req.principal)) return ok([]);
  const { content, storage } = req.params;
  const rows = STORAGE_CONFIG.filter((c) => storage === undefined || c.storage === storage)
    .filter((c) => content === undefined || String(c.content).split(',').includes(content))
    .map((c) => {
      const [used, total] = STORAGE_SIZES[String(c.storage)] ?? [0, 0];
      return {
        storage: c.storage,
        type: c.type,
        content: c.content,
        active: node.online ? 1 : 0,
        enabled: 1,
        shared: 0,
        total,
        used,
        avail: total - used,
        used_fraction: used / total,
      };
    });
  return ok(rows);
}

/**
 * `GET /access/users`: every user with a token here (root@pam and the extra tokens' users); a
 * restricted token sees only its own user. `full=1` adds each user's tokens.
 */
function accessUsers(m: ClusterModel, req: ApiRequest): ApiResult {
  const byUser = new Map<string, ExtraToken[]>();
  for (const t of m.tokens.values()) {
    const user = t.tokenId.split('!')[0] ?? t.tokenId;
    byUser.set(user, [...(byUser.get(user) ?? []), t]);
  }
  if (!byUser.has(req.principal.user)) byUser.set(req.principal.user, []);
  const rows: Record<string, unknown>[] = [];
  for (const [userid, tokens] of [...byUser.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!sysAudit(req.principal) && userid !== req.principal.user) continue;
    const realm = userid.split('@')[1] ?? 'pam';
    const row: Record<string, unknown> = {
      userid,
      enable: 1,
      expire: 0,
      'realm-type': realm === 'pam' ? 'pam' : 'pve',
    };
    if (req.params.full === '1') {
      row.tokens = tokens.map((t) => ({
        tokenid: t.tokenId.split('!')[1] ?? t.tokenId,
        expire: 0,
        privsep: t === m.mainToken ? 0 : 1,
      }));
    }
    rows.push(row);
  }
  return ok(rows);
}

const QEMU_DIR = [
  'config',
  'pending',
  'status',
  'unlink',
  'vncproxy',
  'termproxy',
  'migrate',
  'resize',
  'move',
  'rrd',
  'rrddata',
  'monitor',
  'agent',
  'snapshot',
  'spiceproxy',
  'sendkey',
  'firewall',
  'mtunnel',
  'remote_migrate',
];
const LXC_DIR = [
  'config',
  'status',
  'vncproxy',
  'termproxy',
  'vncwebsocket',
  'spiceproxy',
  'migrate',
  'clone',
  'rrd',
  'rrddata',
  'firewall',
  'snapshot',
  'resize',
  'interfaces',
  'pending',
  'mtunnel',
  'remote_migrate',
];
const QEMU_STATUS_DIR = ['current', 'start', 'stop', 'reset', 'shutdown', 'suspend', 'resume', 'reboot'];
const LXC_STATUS_DIR = ['current', 'start', 'stop', 'shutdown', 'suspend', 'resume', 'reboot'];
/** The guest-agent commands the agent index lists (sorted, as PVE lists them). */
const AGENT_COMMANDS = [
  'exec',
  'exec-status',
  'file-read',
  'file-write',
  'fsfreeze-freeze',
  'fsfreeze-status',
  'fsfreeze-thaw',
  'fstrim',
  'get-fsinfo',
  'get-host-name',
  'get-memory-block-info',
  'get-memory-blocks',
  'get-osinfo',
  'get-time',
  'get-timezone',
  'get-users',
  'get-vcpus',
  'info',
  'network-get-interfaces',
  'ping',
  'set-user-password',
  'shutdown',
  'suspend-disk',
  'suspend-hybrid',
  'suspend-ram',
];

/** The directory index of a guest path (`''`, `/status`, `/agent`), or undefined for other paths. */
function guestIndex(type: 'qemu' | 'lxc', sub: string): ApiResult | undefined {
  const subdirs = (names: readonly string[]) => ok(names.map((subdir) => ({ subdir })));
  if (sub === '') return subdirs(type === 'qemu' ? QEMU_DIR : LXC_DIR);
  if (sub === '/status') return subdirs(type === 'qemu' ? QEMU_STATUS_DIR : LXC_STATUS_DIR);
  if (sub === '/agent' && type === 'qemu') return ok(AGENT_COMMANDS.map((name) => ({ name })));
  return undefined;
}

/**
 * Why the agent of `g` cannot answer, as PVE says it, or null when it can (`starting`: the guest
 * booted too recently for its agent to run).
 */
function agentUnavailable(g: SimGuest, starting: boolean): ApiResult | null {
  if (g.agentConfig === undefined) return fail(500, 'No QEMU guest agent configured');
  if (!isUp(g)) return fail(500, `VM ${g.vmid} is not running`);
  if (starting || g.agent === 'disabled' || g.agent === 'not-running' || g.status !== 'running')
    return fail(500, 'QEMU guest agent is not running');
  return null;
}

/**
 * `GET /pools` (every pool, nested ids included), `GET /pools?poolid=a/b` (an array with that pool
 * and its direct members, since PVE 8.1) and the deprecated `GET /pools/{poolid}` (one object; no
 * nested ids).
 */
function pools(
  m: ClusterModel,
  req: ApiRequest,
  poolid: string | undefined,
  viewer: string,
  legacyPath: boolean,
): ApiResult {
  const names = poolNames(m);
  if (poolid === undefined) {
    if (!fullRights(req.principal)) return ok([]);
    return ok(names.map((n) => ({ poolid: n, comment: `Simulated pool ${n}` })));
  }
  if (legacyPath && poolid.includes('/')) {
    return {
      ok: false,
      status: 400,
      message: 'Parameter verification failed.',
      errors: { poolid: `invalid format - value '${poolid}' does not look like a valid pool id` },
    };
  }
  if (!fullRights(req.principal)) return permFail(`/pool/${poolid}`, 'Pool.Audit');
  if (!names.includes(poolid)) return fail(500, `pool '${poolid}' does not exist`);
  const members = [...m.guests.values()]
    .filter((g) => g.pool === poolid)
    .map((g) => guestRow(m, g, req.now, req.principal, viewer));
  const comment = `Simulated pool ${poolid}`;
  return legacyPath ? ok({ comment, members }) : ok([{ poolid, comment, members }]);
}

function snapshots(g: SimGuest): ApiResult {
  const list: Record<string, unknown>[] = [];
  if (g.vmid % 4 === 0) {
    list.push({
      name: 'before-upgrade',
      description: 'simulated snapshot',
      snaptime: 1_700_000_000 + g.vmid,
      vmstate: 0,
    });
  }
  const current: Record<string, unknown> = {
    name: 'current',
    description: 'You are here!',
    digest: digestOf(g.vmid),
  };
  if (g.type === 'qemu') current.running = isUp(g) ? 1 : 0;
  if (list.length > 0) current.parent = 'before-upgrade';
  list.push(current);
  return ok(list);
}

/** Answers one authenticated API call against the cluster model. */
export function handleApi(
  m: ClusterModel,
  req: ApiRequest,
  localNode: string,
  fingerprint: string,
): ApiResult {
  const { method, path } = req;
  const local = m.profileOf(localNode);
  if (method === 'GET' && path === '/version')
    return ok({ version: local.version, release: local.release, repoid: local.repoid });
  if (method === 'GET' && path === '/cluster/resources') return resources(m, req, localNode);
  if (method === 'GET' && path === '/cluster/status') return clusterStatus(m, req, localNode);
  if (method === 'GET' && path === '/nodes') return nodesList(m, req, fingerprint);
  if (method === 'GET' && path === '/cluster/tasks') return clusterTasks(m, req);
  if (method === 'GET' && path === '/cluster/nextid') return nextId(m, req);
  if (method === 'GET' && path === '/storage') return storageConfig(req);
  if (method === 'GET' && path === '/access/users') return accessUsers(m, req);
  if (method === 'GET' && path === '/pools') return pools(m, req, req.params.poolid, localNode, false);
  const poolMatch = /^\/pools\/([^/]+)$/.exec(path);
  if (method === 'GET' && poolMatch !== null)
    return pools(m, req, decodeURIComponent(poolMatch[1] ?? ''), localNode, true);

  const nodeMatch = /^\/nodes\/([^/]+)(\/.*)?$/.exec(path);
  if (nodeMatch !== null) {
    const nodeName = decodeURIComponent(nodeMatch[1] ?? '');
    const node = m.node(nodeName);
    if (node === undefined)
      return fail(
        500,
        `hostname lookup '${nodeName}' failed - failed to get address info for: ${nodeName}: Name or service not known`,
      );
    const rest = nodeMatch[2] ?? '';
    if (method === 'GET' && rest === '/status') return nodeStatus(m, node, req);
    if (method === 'GET' && rest === '/network') return nodeNetwork(node);
    if (method === 'GET' && rest === '/tasks') return nodeTasks(m, node, req);
    if (method === 'GET' && rest === '/storage') return nodeStorage(node, req);
    if (method === 'GET' && (rest === '/qemu' || rest === '/lxc'))
      return guestList(m, node, rest === '/qemu' ? 'qemu' : 'lxc', req);
    const task = /^\/tasks\/([^/]+)(\/status|\/log)$/.exec(rest);
    if (method === 'GET' && task !== null) return taskStatus(m, node, task[1] ?? '', task[2] ?? '', req);
    const gm = GUEST_RE.exec(path);
    if (gm !== null) {
      const type = gm[2] === 'lxc' ? 'lxc' : 'qemu';
      const vmid = Number(gm[3]);
      const sub = gm[4] ?? '';
      const power = /^\/status\/(start|stop|shutdown|reboot)$/.exec(sub);
      if (sub.startsWith('/agent/')) {
        // Checked on the contacted node and again on the guest's node, each with its own privilege names.
        for (const profile of [local, m.profileOf(node.name)]) {
          if (!canUseAgent(req.principal, vmid, profile))
            return permFail(`/vms/${vmid}`, profile.agentPrivileges.join('|'));
        }
      } else {
        const priv = power !== null ? 'VM.PowerMgmt' : 'VM.Audit';
        if (!can(req.principal, vmid, priv)) return permFail(`/vms/${vmid}`, priv);
      }
      const g = m.guests.get(vmid);
      if (g === undefined || g.node !== node.name || g.type !== type) {
        const dir = type === 'qemu' ? 'qemu-server' : 'lxc';
        return fail(500, `Configuration file 'nodes/${node.name}/${dir}/${vmid}.conf' does not exist`);
      }
      if (method === 'POST' && power !== null) {
        const action = power[1];
        if (action !== 'start' && action !== 'stop' && action !== 'shutdown' && action !== 'reboot')
          return fail(501, 'unreachable');
        const r = m.power(g, action, req.principal.tokenFull, req.now);
        return 'upid' in r ? ok(r.upid) : fail(r.status, r.message);
      }
      if (method === 'POST' && type === 'qemu' && sub === '/agent/ping')
        return agentUnavailable(g, m.agentStarting(g, req.now)) ?? ok({ result: {} });
      if (method === 'GET') {
        const index = guestIndex(type, sub);
        if (index !== undefined) return index;
        if (sub === '/config') return ok(guestConfig(g, m.profileOf(node.name)));
        if (sub === '/status/current') return ok(statusCurrent(m, g, req.now));
        if (sub === '/snapshot') return snapshots(g);
        if (type === 'qemu' && sub === '/agent/network-get-interfaces')
          return agentInterfaces(g, m.agentStarting(g, req.now));
        if (type === 'qemu' && sub === '/agent/get-osinfo')
          return agentOsinfo(g, m.agentStarting(g, req.now));
        if (type === 'lxc' && sub === '/interfaces') return lxcInterfaces(g);
      }
    }
  }
  return fail(501, `Method '${method} /api2/json${path}' not implemented`);
}

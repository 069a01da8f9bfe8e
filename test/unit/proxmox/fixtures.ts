/*
 * Response fixtures shaped like the examples in the team's Proxmox API notes (PVE 8.x), with every
 * quirk: 0/1 booleans, memory as a string, QEMU run states, rows without stats, offline nodes,
 * `null` LXC interfaces, old-style LXC interfaces, extra unknown fields. Cloned per test.
 */

export const versionData = { version: '8.4.1', release: '8.4', repoid: '2a5fa54a8503f96d' };

export const resourcesData = [
  {
    id: 'qemu/101',
    type: 'qemu',
    vmid: 101,
    node: 'pve1',
    name: 'web01',
    status: 'running',
    uptime: 86400,
    cpu: 0.034,
    maxcpu: 4,
    mem: 1717986918,
    maxmem: 4294967296,
    disk: 0,
    maxdisk: 34359738368,
    netin: 123456,
    netout: 654321,
    diskread: 1048576,
    diskwrite: 2097152,
    template: 0,
    tags: 'prod;web',
    hastate: 'started',
    pool: 'customers',
  },
  // Stopped: every field present, live values 0.
  {
    id: 'lxc/200',
    type: 'lxc',
    vmid: 200,
    node: 'pve2',
    name: 'CT200',
    status: 'stopped',
    uptime: 0,
    cpu: 0,
    maxcpu: 2,
    mem: 0,
    maxmem: 536870912,
    disk: 0,
    maxdisk: 8589934592,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    template: 0,
  },
  // QEMU run state rather than running/stopped; template as 1.
  {
    id: 'qemu/102',
    type: 'qemu',
    vmid: 102,
    node: 'pve1',
    name: 'paused-vm',
    status: 'paused',
    uptime: 10,
    cpu: 0,
    maxcpu: 1,
    mem: 100,
    maxmem: 1024,
    disk: 0,
    maxdisk: 0,
    template: 1,
    lock: 'backup',
  },
  // Guest of a node offline for > 5 min: no stats record, no name.
  { id: 'qemu/103', type: 'qemu', vmid: 103, node: 'pve3', status: 'unknown', tags: 'lab' },
  {
    id: 'node/pve1',
    type: 'node',
    node: 'pve1',
    status: 'online',
    level: '',
    cpu: 0.1,
    maxcpu: 16,
    uptime: 1000,
  },
  // Offline node: no stats.
  { id: 'node/pve3', type: 'node', node: 'pve3', status: 'offline' },
  { id: 'storage/pve1/local', type: 'storage', node: 'pve1', storage: 'local', status: 'available' },
  { id: 'pool/customers', type: 'pool', pool: 'customers' },
  {
    id: 'sdn/pve1/localnetwork',
    type: 'sdn',
    sdn: 'localnetwork',
    node: 'pve1',
    status: 'ok',
    'new-field': 1,
  },
];

export const clusterStatusData = [
  { type: 'cluster', id: 'cluster', name: 'lab', nodes: 3, version: 7, quorate: 1 },
  { type: 'node', id: 'node/pve1', name: 'pve1', nodeid: 1, ip: '10.0.0.1', local: 1, online: 1, level: '' },
  { type: 'node', id: 'node/pve3', name: 'pve3', nodeid: 3, ip: '10.0.0.3', local: 0, online: 0, level: '' },
];

export const nodesData = [
  {
    node: 'pve1',
    status: 'online',
    id: 'node/pve1',
    type: 'node',
    ssl_fingerprint: 'AB:CD',
    level: '',
    cpu: 0.02,
    maxcpu: 16,
    mem: 1,
    maxmem: 2,
    disk: 1,
    maxdisk: 2,
    uptime: 5,
  },
  { node: 'pve3', status: 'offline', id: 'node/pve3', type: 'node', ssl_fingerprint: 'AB:CD' },
];

export const qemuConfigData = {
  name: 'web01',
  cores: 2,
  sockets: 2,
  memory: '4096',
  balloon: 0,
  ostype: 'win11',
  agent: 'enabled=1,fstrim_cloned_disks=1,type=virtio',
  net0: 'virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,firewall=1,tag=20',
  net1: 'e1000=BC:24:11:00:00:02,bridge=vmbr1',
  ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1',
  ipconfig1: 'ip=dhcp',
  scsi0: 'local-lvm:vm-101-disk-0,iothread=1,size=32G',
  scsi1: 'local-lvm:vm-101-disk-1,size=1536M',
  ide2: 'local:iso/debian.iso,media=cdrom,size=600M',
  ide0: 'local-lvm:vm-101-cloudinit,media=cdrom',
  efidisk0: 'local-lvm:vm-101-disk-2,efitype=4m,size=4M',
  boot: 'order=scsi0;ide2;net0',
  cpulimit: '1.5',
  onboot: 1,
  digest: '5b3ef2ad8d6e0e2a4d1f1c7e7c0b7c1f2a1b3c4d',
};

export const lxcConfigData = {
  hostname: 'ct200',
  cores: 2,
  memory: 1024,
  swap: 512,
  ostype: 'debian',
  arch: 'amd64',
  net0: 'name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:12:34:56,ip=192.168.1.20/24,gw=192.168.1.1,ip6=auto,type=veth',
  rootfs: 'local-lvm:vm-200-disk-0,size=8G',
  mp0: 'local-lvm:vm-200-disk-1,mp=/data,size=2G',
  unprivileged: 1,
  digest: 'aa',
};

export const qemuStatusData = {
  vmid: 101,
  status: 'running',
  qmpstatus: 'running',
  name: 'web01',
  pid: 1234,
  cpus: 4,
  cpu: 0.01,
  mem: 1,
  maxmem: 4294967296,
  disk: 0,
  maxdisk: 34359738368,
  uptime: 100,
  agent: 1,
  ha: { managed: 0 },
  'running-machine': 'pc-q35-8.1+pve0',
  balloon_min: 0,
  ballooninfo: { actual: 1 },
  nics: { tap101i0: { netin: 1, netout: 2 } },
};

export const lxcStatusData = {
  vmid: 200,
  type: 'lxc',
  status: 'stopped',
  name: 'CT200',
  cpus: 2,
  cpu: 0,
  mem: 0,
  maxmem: 1073741824,
  swap: 0,
  maxswap: 536870912,
  disk: 0,
  maxdisk: 8589934592,
  uptime: 0,
  ha: { managed: 1, state: 'started', group: 'g1' },
};

export const agentInterfacesData = {
  result: [
    {
      name: 'lo',
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [
        { 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 },
        { 'ip-address': '::1', 'ip-address-type': 'ipv6', prefix: 128 },
      ],
    },
    {
      name: 'eth0',
      'hardware-address': 'bc:24:11:ab:cd:ef',
      'ip-addresses': [
        { 'ip-address': '10.0.0.5', 'ip-address-type': 'ipv4', prefix: 24 },
        { 'ip-address': 'fe80::be24:11ff:feab:cdef', 'ip-address-type': 'ipv6', prefix: 64 },
      ],
      statistics: {
        'rx-bytes': 1,
        'rx-packets': 1,
        'rx-errs': 0,
        'rx-dropped': 0,
        'tx-bytes': 1,
        'tx-packets': 1,
        'tx-errs': 0,
        'tx-dropped': 0,
      },
    },
    // Right after boot: no ip-addresses yet.
    { name: 'docker0', 'hardware-address': '02:42:ac:11:00:01' },
  ],
};

/** PVE 8.4+ LXC interfaces (ip-addresses with inet/inet6). */
export const lxcInterfacesNew = [
  {
    name: 'lo',
    hwaddr: '00:00:00:00:00:00',
    'hardware-address': '00:00:00:00:00:00',
    inet: '127.0.0.1/8',
    inet6: '::1/128',
    'ip-addresses': [
      { 'ip-address': '127.0.0.1', 'ip-address-type': 'inet', prefix: 8 },
      { 'ip-address': '::1', 'ip-address-type': 'inet6', prefix: 128 },
    ],
  },
  {
    name: 'eth0',
    hwaddr: 'bc:24:11:12:34:56',
    'hardware-address': 'bc:24:11:12:34:56',
    inet: '192.168.1.20/24',
    'ip-addresses': [{ 'ip-address': '192.168.1.20', 'ip-address-type': 'inet', prefix: 24 }],
  },
];

/** Older 8.x servers: only name/hwaddr/inet/inet6. */
export const lxcInterfacesOld = [
  { name: 'lo', hwaddr: '00:00:00:00:00:00', inet: '127.0.0.1/8', inet6: '::1/128' },
  { name: 'eth0', hwaddr: 'bc:24:11:12:34:56', inet: '192.168.1.20/24', inet6: 'fe80::1/64' },
];

export const upid = 'UPID:pve1:0001A2B3:03C4D5E6:66F1A2B3:qmstart:101:svc@pve!sync:';

export const taskRunning = {
  upid,
  node: 'pve1',
  pid: 107187,
  pstart: 63231462,
  starttime: 1727111859,
  type: 'qmstart',
  id: '101',
  user: 'svc@pve',
  tokenid: 'sync',
  status: 'running',
};
export const taskStopped = { ...taskRunning, status: 'stopped', exitstatus: 'OK' };

/** A deep copy of a fixture, so tests may mutate it. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

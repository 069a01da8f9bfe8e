import { describe, expect, it } from 'vitest';
import {
  agentEnabled,
  bootDiskBytesFromConfig,
  categoryFromOstype,
  coresFromConfig,
  type GuestInterface,
  interfacesFromAgent,
  interfacesFromLxc,
  isExcludedInterface,
  macsFromConfig,
  memoryMiBFromConfig,
  parseSizeToBytes,
  parseTags,
  runtimeFromResource,
  selectGuestIp,
  staticIpsFromConfig,
  totalDiskBytesFromConfig,
} from '#shared/proxmox/mapping.ts';
import {
  AgentInterfacesSchema,
  GuestConfigSchema,
  GuestResourceSchema,
  LxcInterfacesSchema,
} from '#shared/proxmox/schemas.ts';
import {
  agentInterfacesData,
  clone,
  lxcConfigData,
  lxcInterfacesNew,
  lxcInterfacesOld,
  qemuConfigData,
  resourcesData,
} from './fixtures.ts';

const NOW = Date.parse('2026-01-02T03:04:05.678Z');
const config = (c: Record<string, string | number>) => GuestConfigSchema.parse(c);

describe('runtimeFromResource', () => {
  it('turns cpu fraction and mem/maxmem into percentages and uptime into a boot time', () => {
    const row = GuestResourceSchema.parse(clone(resourcesData[0]));
    expect(runtimeFromResource(row, NOW)).toEqual({
      status: 'running',
      uptime: 86400,
      cpuUsage: 3.4,
      memoryUsage: 40,
      bootTime: '2026-01-01T03:04:05.000Z',
    });
  });
  it('caps memory use at 100 % when PVE 9 reports the host-side figure above maxmem', () => {
    const maxmem = 4 * 1024 ** 3;
    const row = GuestResourceSchema.parse({
      ...clone(resourcesData[0]),
      maxmem,
      mem: maxmem + 200 * 1024 ** 2,
      memhost: maxmem + 200 * 1024 ** 2,
    });
    expect(runtimeFromResource(row, NOW).memoryUsage).toBe(100);
  });
  it('gives zeros and no boot time for a stopped guest', () => {
    const row = GuestResourceSchema.parse(clone(resourcesData[1]));
    expect(runtimeFromResource(row, NOW)).toEqual({
      status: 'stopped',
      uptime: 0,
      cpuUsage: 0,
      memoryUsage: 0,
      bootTime: null,
    });
  });
  it('gives nulls for a guest without a stats record (offline node)', () => {
    const row = GuestResourceSchema.parse(clone(resourcesData[3]));
    expect(runtimeFromResource(row, NOW)).toEqual({
      status: 'unknown',
      uptime: null,
      cpuUsage: null,
      memoryUsage: null,
      bootTime: null,
    });
  });
  it('does not divide by a zero maxmem', () => {
    const row = GuestResourceSchema.parse({
      id: 'qemu/1',
      type: 'qemu',
      vmid: 1,
      node: 'n',
      status: 'running',
      mem: 5,
      maxmem: 0,
      cpu: 1.02,
    });
    expect(runtimeFromResource(row, NOW)).toMatchObject({ memoryUsage: null, cpuUsage: 102 });
  });
});

describe('coresFromConfig', () => {
  it.each([
    ['qemu', { cores: 2, sockets: 2 }, 4],
    ['qemu', { cores: 4 }, 4],
    ['qemu', { sockets: 2 }, 2],
    ['qemu', {}, 1],
    ['qemu', { cores: 4, sockets: 2, vcpus: 3 }, 3],
    ['qemu', { cores: '2', sockets: '1' }, 2],
    ['lxc', { cores: 2 }, 2],
    ['lxc', {}, null],
  ] as const)('%s %j → %j', (type, c, expected) => {
    expect(coresFromConfig(type, config(c))).toBe(expected);
  });
});

describe('memoryMiBFromConfig', () => {
  it.each([
    ['qemu', { memory: '4096' }, 4096],
    ['qemu', { memory: 'current=2048' }, 2048],
    ['qemu', { memory: 'current=8192,hotplug=1' }, 8192],
    ['qemu', { memory: 1024 }, 1024],
    ['qemu', {}, 512],
    ['lxc', { memory: 1024 }, 1024],
    ['lxc', {}, 512],
  ] as const)('%s %j → %d MiB', (type, c, expected) => {
    expect(memoryMiBFromConfig(type, config(c))).toBe(expected);
  });
});

describe('parseSizeToBytes', () => {
  it.each([
    ['32G', 32 * 1024 ** 3],
    ['1536M', 1536 * 1024 ** 2],
    ['4M', 4 * 1024 ** 2],
    ['512K', 512 * 1024],
    ['2T', 2 * 1024 ** 4],
    ['0.5T', 0.5 * 1024 ** 4],
    ['10GiB', 10 * 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['1073741824', 1073741824],
    ['12X', null],
    ['', null],
    ['G', null],
  ])('%j → %j', (size, expected) => {
    expect(parseSizeToBytes(size)).toBe(expected);
  });
});

describe('disk sizes from config', () => {
  it('takes the first boot-order disk, skipping CD-ROMs, cloud-init and EFI disks', () => {
    const c = config(clone(qemuConfigData));
    expect(bootDiskBytesFromConfig('qemu', c)).toBe(32 * 1024 ** 3);
    expect(totalDiskBytesFromConfig('qemu', c)).toBe(32 * 1024 ** 3 + 1536 * 1024 ** 2);
  });
  it('follows the boot order and the legacy bootdisk key', () => {
    const base = { scsi0: 'l:vm-1-disk-0,size=10G', virtio0: 'l:vm-1-disk-1,size=20G' };
    expect(bootDiskBytesFromConfig('qemu', config({ ...base, boot: 'order=virtio0;scsi0' }))).toBe(
      20 * 1024 ** 3,
    );
    expect(bootDiskBytesFromConfig('qemu', config({ ...base, bootdisk: 'virtio0' }))).toBe(20 * 1024 ** 3);
    expect(bootDiskBytesFromConfig('qemu', config(base))).toBe(10 * 1024 ** 3);
    expect(bootDiskBytesFromConfig('qemu', config({ ide2: 'none,media=cdrom' }))).toBeNull();
  });
  it('uses rootfs for LXC and sums mount points', () => {
    const c = config(clone(lxcConfigData));
    expect(bootDiskBytesFromConfig('lxc', c)).toBe(8 * 1024 ** 3);
    expect(totalDiskBytesFromConfig('lxc', c)).toBe(10 * 1024 ** 3);
  });
});

describe('categoryFromOstype', () => {
  it.each([
    ['win11', 'windows'],
    ['win10', 'windows'],
    ['win8', 'windows'],
    ['win7', 'windows'],
    ['w2k8', 'windows'],
    ['wvista', 'windows'],
    ['w2k3', 'windows'],
    ['wxp', 'windows'],
    ['w2k', 'windows'],
    ['win12', 'windows'],
    ['l26', 'linux'],
    ['l24', 'linux'],
    ['solaris', 'other'],
    ['other', 'other'],
    [undefined, 'other'],
  ] as const)('qemu %s → %s', (ostype, expected) => {
    expect(categoryFromOstype('qemu', ostype)).toBe(expected);
  });
  it.each([
    ['debian', 'linux'],
    ['devuan', 'linux'],
    ['ubuntu', 'linux'],
    ['centos', 'linux'],
    ['fedora', 'linux'],
    ['opensuse', 'linux'],
    ['archlinux', 'linux'],
    ['alpine', 'linux'],
    ['gentoo', 'linux'],
    ['nixos', 'linux'],
    ['unmanaged', 'other'],
    [undefined, 'other'],
  ] as const)('lxc %s → %s', (ostype, expected) => {
    expect(categoryFromOstype('lxc', ostype)).toBe(expected);
  });
});

describe('MACs from config', () => {
  it.each([
    ['virtio', { net0: 'virtio=bc:24:11:ab:cd:ef,bridge=vmbr0' }, ['BC:24:11:AB:CD:EF']],
    ['e1000', { net0: 'e1000=BC:24:11:00:00:01,bridge=vmbr0' }, ['BC:24:11:00:00:01']],
    ['vmxnet3 and macaddr', { net0: 'model=vmxnet3,macaddr=AA:BB:CC:DD:EE:FF' }, ['AA:BB:CC:DD:EE:FF']],
    [
      'index order',
      { net2: 'virtio=00:00:00:00:00:02', net0: 'virtio=00:00:00:00:00:00' },
      ['00:00:00:00:00:00', '00:00:00:00:00:02'],
    ],
    ['no NIC', {}, []],
  ] as const)('qemu: %s', (_label, c, expected) => {
    expect(macsFromConfig('qemu', config(c))).toEqual(expected);
  });
  it('reads LXC hwaddr= case-insensitively', () => {
    expect(
      macsFromConfig('lxc', config({ net0: 'name=eth0,bridge=vmbr0,hwaddr=bc:24:11:12:34:56,ip=dhcp' })),
    ).toEqual(['BC:24:11:12:34:56']);
  });
});

describe('staticIpsFromConfig', () => {
  it('reads QEMU ipconfigN ip= and ip6=, ignoring dhcp', () => {
    expect(
      staticIpsFromConfig(
        'qemu',
        config({ ipconfig1: 'ip=dhcp,ip6=2001:db8::5/64', ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1' }),
      ),
    ).toEqual([
      { index: 0, address: '10.0.0.5', family: 'ipv4' },
      { index: 1, address: '2001:db8::5', family: 'ipv6' },
    ]);
  });
  it('reads LXC netN ip=, ignoring dhcp/auto/manual', () => {
    expect(staticIpsFromConfig('lxc', config(clone(lxcConfigData)))).toEqual([
      { index: 0, address: '192.168.1.20', family: 'ipv4' },
    ]);
    expect(staticIpsFromConfig('lxc', config({ net0: 'name=eth0,ip=dhcp,ip6=manual' }))).toEqual([]);
  });
});

describe('agentEnabled', () => {
  it.each([
    ['1', true],
    [1, true],
    ['enabled=1', true],
    ['1,fstrim_cloned_disks=1', true],
    ['enabled=1,fstrim_cloned_disks=1,type=virtio', true],
    ['enabled=on', true],
    ['0', false],
    [0, false],
    ['enabled=0', false],
    ['enabled=0,type=isa', false],
    [undefined, false],
  ] as const)('%j → %j', (value, expected) => {
    expect(agentEnabled(value)).toBe(expected);
  });
});

describe('interface normalization', () => {
  it('normalizes QGA output', () => {
    const ifaces = interfacesFromAgent(AgentInterfacesSchema.parse(clone(agentInterfacesData)).result);
    expect(ifaces[1]).toEqual({
      name: 'eth0',
      mac: 'BC:24:11:AB:CD:EF',
      addresses: [
        { address: '10.0.0.5', family: 'ipv4' },
        { address: 'fe80::be24:11ff:feab:cdef', family: 'ipv6' },
      ],
    });
    expect(ifaces[2]?.addresses).toEqual([]);
  });
  it('normalizes new and old LXC shapes to the same result', () => {
    const fresh = interfacesFromLxc(LxcInterfacesSchema.parse(clone(lxcInterfacesNew)));
    const old = interfacesFromLxc(LxcInterfacesSchema.parse(clone(lxcInterfacesOld)));
    expect(fresh[1]).toEqual({
      name: 'eth0',
      mac: 'BC:24:11:12:34:56',
      addresses: [{ address: '192.168.1.20', family: 'ipv4' }],
    });
    expect(old[1]?.addresses[0]).toEqual({ address: '192.168.1.20', family: 'ipv4' });
    expect(interfacesFromLxc(null)).toEqual([]);
  });
});

describe('isExcludedInterface', () => {
  it.each([
    'lo',
    'docker0',
    'br-1a2b3c',
    'veth12ab',
    'virbr0',
    'cni0',
    'flannel.1',
    'cali123',
    'cilium_host',
    'vxlan.calico',
    'Loopback Pseudo-Interface 1',
  ])('excludes %s', (name) => {
    expect(isExcludedInterface(name)).toBe(true);
  });
  it.each(['eth0', 'ens18', 'enp0s3', 'Ethernet', 'Ethernet 2', 'wlan0', 'bond0', 'vmbr0'])(
    'keeps %s',
    (name) => {
      expect(isExcludedInterface(name)).toBe(false);
    },
  );
});

const iface = (name: string, mac: string | null, ...addresses: string[]): GuestInterface => ({
  name,
  mac,
  addresses: addresses.map((address) => ({ address, family: address.includes(':') ? 'ipv6' : 'ipv4' })),
});

describe('selectGuestIp', () => {
  const base = { firstMac: 'BC:24:11:AB:CD:EF', staticIps: [], simulated: false };
  it.each([
    [
      'prefers the IPv4 on the interface matching the first NIC (case-insensitive)',
      {
        ...base,
        interfaces: [
          iface('eth1', 'BC:24:11:00:00:02', '10.9.9.9'),
          iface('eth0', 'BC:24:11:AB:CD:EF', '10.0.0.5'),
        ],
      },
      '10.0.0.5',
    ],
    [
      'matches a lower-case guest MAC',
      {
        ...base,
        firstMac: 'bc:24:11:ab:cd:ef',
        interfaces: [
          iface('eth1', 'AA:AA:AA:AA:AA:AA', '10.9.9.9'),
          iface('eth0', 'BC:24:11:AB:CD:EF', '10.0.0.5'),
        ],
      },
      '10.0.0.5',
    ],
    [
      'never uses lo, 127.0.0.1 or ::1',
      {
        ...base,
        firstMac: '00:00:00:00:00:00',
        interfaces: [iface('lo', '00:00:00:00:00:00', '127.0.0.1', '::1')],
      },
      null,
    ],
    [
      'skips link-local and docker bridges, falls back to another interface',
      {
        ...base,
        interfaces: [
          iface('eth0', 'BC:24:11:AB:CD:EF', '169.254.3.4', 'fe80::1'),
          iface('docker0', '02:42:00:00:00:01', '172.17.0.1'),
          iface('br-abc', '02:42:00:00:00:02', '172.18.0.1'),
          iface('veth1', '02:42:00:00:00:03', '172.19.0.1'),
          iface('ens19', 'BC:24:11:00:00:09', '192.168.5.5'),
        ],
      },
      '192.168.5.5',
    ],
    [
      'prefers IPv4 over IPv6 on the matching interface',
      { ...base, interfaces: [iface('eth0', 'BC:24:11:AB:CD:EF', '2001:db8::5', '10.0.0.5')] },
      '10.0.0.5',
    ],
    [
      'uses a global IPv6 when there is no IPv4 anywhere',
      { ...base, interfaces: [iface('eth0', 'BC:24:11:AB:CD:EF', 'fe80::1', '2001:db8::5')] },
      '2001:db8::5',
    ],
    [
      'falls back to the static IPv4 when there is no live data',
      {
        ...base,
        interfaces: [],
        staticIps: [
          { index: 1, address: '10.1.1.1', family: 'ipv4' as const },
          { index: 0, address: '10.0.0.7', family: 'ipv4' as const },
        ],
      },
      '10.0.0.7',
    ],
    [
      'prefers a static IPv4 over a live IPv6',
      {
        ...base,
        interfaces: [iface('eth0', 'BC:24:11:AB:CD:EF', '2001:db8::5')],
        staticIps: [{ index: 0, address: '10.0.0.7', family: 'ipv4' as const }],
      },
      '10.0.0.7',
    ],
    [
      'ignores 127/8 addresses on a real cluster',
      { ...base, interfaces: [iface('eth0', 'BC:24:11:AB:CD:EF', '127.0.3.4')] },
      null,
    ],
    [
      'accepts 127/8 (not 127.0.0.1) on a simulated cluster',
      {
        ...base,
        simulated: true,
        interfaces: [
          iface('lo', '00:00:00:00:00:00', '127.0.0.1'),
          iface('eth0', 'BC:24:11:AB:CD:EF', '127.0.3.4'),
        ],
      },
      '127.0.3.4',
    ],
    [
      'still never uses 127.0.0.1 on a simulated cluster',
      { ...base, simulated: true, interfaces: [iface('eth0', 'BC:24:11:AB:CD:EF', '127.0.0.1')] },
      null,
    ],
    ['returns null with nothing at all', { ...base, interfaces: [] }, null],
  ])('%s', (_label, input, expected) => {
    expect(selectGuestIp(input)).toBe(expected);
  });

  it('is deterministic: same input, same answer', () => {
    const input = {
      ...base,
      firstMac: null,
      interfaces: [iface('ens18', null, '10.0.0.1'), iface('ens19', null, '10.0.0.2')],
    };
    expect(selectGuestIp(input)).toBe('10.0.0.1');
    expect(selectGuestIp(input)).toBe('10.0.0.1');
  });
});

describe('parseTags', () => {
  it.each([
    ['prod;web', ['prod', 'web']],
    ['a,b c', ['a', 'b', 'c']],
    [undefined, []],
    ['', []],
  ] as const)('%j → %j', (tags, expected) => {
    expect(parseTags(tags)).toEqual(expected);
  });
});

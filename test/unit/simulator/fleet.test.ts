import { describe, expect, it } from 'vitest';
import {
  categoryOf,
  expectedIpOf,
  type FleetSpec,
  formatSize,
  generateFleet,
  liveInterfaces,
  type SimGuest,
  toGroundTruth,
} from '#simulator/fleet.ts';
import { pveProfile } from '#simulator/pve-version.ts';

const spec = (clusterIndex: number, guests = 200, seed = 1): FleetSpec => ({
  seed,
  clusterIndex,
  nodes: ['pve1', 'pve2', 'pve3'],
  guests,
  now: 1_800_000_000_000,
});

function allIps(g: SimGuest): string[] {
  const ips: string[] = [];
  for (const n of g.nics) {
    if (n.liveIp !== null) ips.push(n.liveIp);
    if (n.staticIp !== null && n.staticIp !== 'dhcp') ips.push(n.staticIp.split('/')[0] ?? '');
  }
  for (const e of g.extraInterfaces) if (e.ipv4 !== null) ips.push(e.ipv4);
  return ips;
}

describe('generateFleet', () => {
  it('spreads guests round-robin by default, or in one contiguous VMID range per node', () => {
    const roundRobin = generateFleet(spec(0, 9));
    expect(roundRobin.slice(0, 3).map((g) => g.node)).toEqual(['pve1', 'pve2', 'pve3']);
    const contiguous = generateFleet({ ...spec(0, 300), nodeLayout: 'contiguous' });
    expect(contiguous.map((g) => g.node)).toEqual([
      ...Array<string>(100).fill('pve1'),
      ...Array<string>(100).fill('pve2'),
      ...Array<string>(100).fill('pve3'),
    ]);
    // Only the placement changes: the guests are the same.
    expect(contiguous.map((g) => ({ ...g, node: '' }))).toEqual(
      generateFleet(spec(0, 300)).map((g) => ({ ...g, node: '' })),
    );
  });

  it('is deterministic from the seed', () => {
    expect(generateFleet(spec(0))).toEqual(generateFleet(spec(0)));
    expect(generateFleet(spec(0, 200, 2))).not.toEqual(generateFleet(spec(0)));
  });

  it('reuses the same VMIDs in different clusters', () => {
    const a = new Set(generateFleet(spec(0)).map((g) => g.vmid));
    const b = generateFleet(spec(1)).map((g) => g.vmid);
    expect(a.has(100)).toBe(true);
    expect(b.filter((v) => a.has(v)).length).toBeGreaterThan(100);
  });

  it('gives every guest unique VMIDs and MACs within a cluster', () => {
    const fleet = generateFleet(spec(0, 1000));
    expect(new Set(fleet.map((g) => g.vmid)).size).toBe(1000);
    expect(new Set(fleet.map((g) => g.nics[0]?.mac)).size).toBe(1000);
  });

  it('puts guest addresses only in 127.0.0.0/8, never 127.0.0.1, and unique across clusters', () => {
    const seen = new Set<string>();
    for (const c of [0, 1, 9]) {
      for (const g of generateFleet(spec(c, 1000))) {
        for (const ip of allIps(g)) {
          expect(ip).toMatch(/^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
          expect(ip).not.toBe('127.0.0.1');
          expect(ip.split('.').every((o) => Number(o) <= 255)).toBe(true);
        }
        const primary = g.nics[0]?.liveIp ?? '';
        expect(seen.has(primary)).toBe(false);
        seen.add(primary);
      }
    }
  });

  it('reports 127.0.0.1 only on the loopback interface inside the guest', () => {
    for (const g of generateFleet(spec(0))) {
      for (const i of liveInterfaces({ ...g, status: 'running' }) ?? []) {
        if (i.ipv4 === '127.0.0.1') expect(i.name === 'lo' || i.name.startsWith('Loopback')).toBe(true);
      }
    }
  });

  it('covers every category the sync must handle', () => {
    const fleet = generateFleet(spec(0, 100));
    const has = (p: (g: SimGuest) => boolean) => fleet.some(p);
    expect(has((g) => g.type === 'qemu')).toBe(true);
    expect(has((g) => g.type === 'lxc')).toBe(true);
    for (const c of ['windows', 'linux', 'other'] as const) expect(has((g) => g.category === c)).toBe(true);
    expect(has((g) => g.template)).toBe(true);
    expect(has((g) => g.tags.length > 0)).toBe(true);
    expect(has((g) => g.pool !== undefined)).toBe(true);
    expect(has((g) => g.hastate !== undefined)).toBe(true);
    expect(has((g) => g.lock !== undefined)).toBe(true);
    expect(has((g) => g.status === 'paused')).toBe(true);
    expect(has((g) => g.status === 'stopped')).toBe(true);
    for (const a of ['none', 'disabled', 'not-running', 'running-no-ips', 'running'] as const) {
      expect(has((g) => g.agent === a)).toBe(true);
    }
    expect(has((g) => g.extraInterfaces.some((e) => e.name === 'docker0'))).toBe(true);
    expect(has((g) => g.nics.length > 1)).toBe(true);
    expect(has((g) => g.ostype === null)).toBe(true);
    expect(has((g) => g.nics[0]?.staticIp?.includes('/') === true)).toBe(true);
    expect(has((g) => g.memoryForm === 'current')).toBe(true);
    expect(has((g) => g.vcpus !== undefined)).toBe(true);
  });

  it('uses real PVE ostype values', () => {
    const qemu = [
      'other',
      'wxp',
      'w2k',
      'w2k3',
      'w2k8',
      'wvista',
      'win7',
      'win8',
      'win10',
      'win11',
      'l24',
      'l26',
      'solaris',
    ];
    const lxc = [
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
      'unmanaged',
    ];
    for (const g of generateFleet(spec(0, 500))) {
      if (g.ostype === null) continue;
      expect(g.type === 'qemu' ? qemu : lxc).toContain(g.ostype);
    }
  });
});

describe('categoryOf', () => {
  it.each([
    ['qemu', 'win11', 'windows'],
    ['qemu', 'w2k3', 'windows'],
    ['qemu', 'wvista', 'windows'],
    ['qemu', 'l26', 'linux'],
    ['qemu', 'l24', 'linux'],
    ['qemu', 'solaris', 'other'],
    ['qemu', 'other', 'other'],
    ['qemu', null, 'other'],
    ['lxc', 'alpine', 'linux'],
    ['lxc', 'unmanaged', 'other'],
  ] as const)('%s %s is %s', (type, ostype, category) => {
    expect(categoryOf(type, ostype)).toBe(category);
  });
});

describe('formatSize', () => {
  it('writes 1024-based units like PVE', () => {
    expect(formatSize(32 * 1024 ** 3)).toBe('32G');
    expect(formatSize(1536 * 1024 ** 2)).toBe('1536M');
    expect(formatSize(2 * 1024 ** 4)).toBe('2T');
    expect(formatSize(1000)).toBe('1000');
  });
});

describe('expectedIpOf', () => {
  const base = generateFleet(spec(0, 10)).find((g) => g.type === 'qemu' && g.category === 'linux');
  if (base === undefined) throw new Error('fixture fleet has no linux VM');
  const nic = base.nics[0];
  if (nic === undefined) throw new Error('fixture VM has no NIC');

  it('picks the live IP of the first NIC when the agent reports IPs', () => {
    const g: SimGuest = { ...base, status: 'running', agent: 'running', agentConfig: '1' };
    expect(expectedIpOf(g)).toBe(nic.liveIp);
  });

  it('falls back to the static IP, or null, without live data', () => {
    const stat: SimGuest = { ...base, status: 'stopped', nics: [{ ...nic, staticIp: '127.1.9.9/8' }] };
    expect(expectedIpOf(stat)).toBe('127.1.9.9');
    const dhcp: SimGuest = {
      ...base,
      status: 'running',
      agent: 'running-no-ips',
      nics: [{ ...nic, staticIp: 'dhcp' }],
    };
    expect(expectedIpOf(dhcp)).toBeNull();
  });

  it('says a stopped guest is not reachable', () => {
    const t = toGroundTruth({ ...base, status: 'stopped', sshOpen: true });
    expect(t.sshReachable).toBe(false);
    expect(t.rdpReachable).toBe(false);
  });
});

describe('generateFleet per Proxmox VE version', () => {
  const fleetOf = (major: 8 | 9) => generateFleet({ ...spec(0, 200), profile: pveProfile(major) });

  it('generates the same guests on 8 and 9, apart from the version traits', () => {
    const strip = (g: SimGuest) => {
      const { pool: _p, rawLxc: _r, oci: _o, noBalloonStats: _n, ...rest } = g;
      return rest;
    };
    expect(fleetOf(9).map(strip)).toEqual(fleetOf(8).map(strip));
  });

  it('nests pools and makes OCI-image containers only on 9; raw lxc keys and no-balloon VMs on both', () => {
    for (const major of [8, 9] as const) {
      const fleet = fleetOf(major);
      expect(fleet.some((g) => g.pool?.includes('/'))).toBe(major === 9);
      expect(fleet.some((g) => g.oci !== undefined)).toBe(major === 9);
      expect(fleet[3]?.rawLxc).toContainEqual(['lxc.cgroup2.devices.allow', 'c 10:200 rwm']);
      expect(fleet[0]?.noBalloonStats).toBe(true);
      for (const g of fleet) {
        if (g.type === 'qemu') expect([g.rawLxc, g.oci]).toEqual([undefined, undefined]);
        else expect(g.noBalloonStats).toBeUndefined();
      }
    }
  });
});

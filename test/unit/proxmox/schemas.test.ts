import { describe, expect, it } from 'vitest';
import {
  AgentInterfacesSchema,
  ClusterResourcesSchema,
  ClusterStatusSchema,
  GuestConfigSchema,
  GuestStatusSchema,
  LxcInterfacesSchema,
  NodeListSchema,
  nodeOfUpid,
  PveBoolean,
  PveNumber,
  TaskStatusSchema,
  UpidSchema,
  VersionSchema,
} from '#shared/proxmox/schemas.ts';
import {
  agentInterfacesData,
  clone,
  clusterStatusData,
  lxcConfigData,
  lxcInterfacesNew,
  lxcInterfacesOld,
  lxcStatusData,
  nodesData,
  qemuConfigData,
  qemuStatusData,
  resourcesData,
  taskRunning,
  taskStopped,
  upid,
  versionData,
} from './fixtures.ts';

describe('PVE scalar quirks', () => {
  it.each([
    [0, false],
    [1, true],
    [true, true],
    [false, false],
    ['0', false],
    ['1', true],
  ])('reads the boolean %j as %j', (input, expected) => {
    expect(PveBoolean.parse(input)).toBe(expected);
  });

  it.each([2, 'yes', null, -1])('rejects %j as a boolean', (input) => {
    expect(PveBoolean.safeParse(input).success).toBe(false);
  });

  it('reads numbers sent as strings', () => {
    expect(PveNumber.parse('2048')).toBe(2048);
    expect(PveNumber.parse('1.5')).toBe(1.5);
    expect(PveNumber.parse(7)).toBe(7);
    expect(PveNumber.safeParse('12abc').success).toBe(false);
  });
});

describe('VersionSchema', () => {
  it('accepts /version', () => {
    expect(VersionSchema.parse(clone(versionData)).version).toBe('8.4.1');
  });
  it('rejects a body without version', () => {
    expect(VersionSchema.safeParse({ release: '8.4' }).success).toBe(false);
  });
});

describe('ClusterResourcesSchema', () => {
  it('splits guest and node rows, drops storage/pool/sdn rows and keeps quirks', () => {
    const { guests, nodes } = ClusterResourcesSchema.parse(clone(resourcesData));
    expect(guests.map((g) => g.vmid)).toEqual([101, 200, 102, 103]);
    expect(nodes.map((n) => [n.node, n.status])).toEqual([
      ['pve1', 'online'],
      ['pve3', 'offline'],
    ]);
    expect(guests[0]?.template).toBe(false);
    expect(guests[2]?.template).toBe(true);
    expect(guests[2]?.status).toBe('paused');
    // No stats record: only the always-present fields.
    expect(guests[3]).toMatchObject({ vmid: 103, status: 'unknown', tags: 'lab' });
    expect(guests[3]?.name).toBeUndefined();
    expect(guests[3]?.maxmem).toBeUndefined();
  });

  it('accepts numeric strings for numbers', () => {
    const rows: unknown[] = clone(resourcesData);
    rows[0] = { ...resourcesData[0], maxmem: '4294967296' };
    expect(ClusterResourcesSchema.parse(rows).guests[0]?.maxmem).toBe(4294967296);
  });

  it.each([
    ['a non-array', { data: [] }],
    ['a guest without vmid', [{ id: 'qemu/1', type: 'qemu', node: 'pve1', status: 'running' }]],
    [
      'a guest with a text vmid',
      [{ id: 'qemu/x', type: 'qemu', vmid: 'abc', node: 'pve1', status: 'running' }],
    ],
    [
      'a guest with negative memory',
      [{ id: 'qemu/1', type: 'qemu', vmid: 1, node: 'n', status: 'running', mem: -5 }],
    ],
    ['a node row without status', [{ id: 'node/pve1', type: 'node', node: 'pve1' }]],
    ['a row without type', [{ id: 'x' }]],
    [
      'a template flag of 2',
      [{ id: 'qemu/1', type: 'qemu', vmid: 1, node: 'n', status: 'stopped', template: 2 }],
    ],
  ])('rejects %s', (_label, data) => {
    expect(ClusterResourcesSchema.safeParse(data).success).toBe(false);
  });
});

describe('ClusterStatusSchema and NodeListSchema', () => {
  it('accepts cluster and node rows with 0/1 flags', () => {
    const rows = ClusterStatusSchema.parse(clone(clusterStatusData));
    expect(rows[0]).toMatchObject({ type: 'cluster', quorate: true });
    expect(rows[2]).toMatchObject({ type: 'node', name: 'pve3', online: false, local: false });
  });
  it('accepts a single node without a cluster row', () => {
    const rows = ClusterStatusSchema.parse([
      { type: 'node', id: 'node/pve', name: 'pve', nodeid: 0, local: 1, online: 1, level: '' },
    ]);
    expect(rows).toHaveLength(1);
  });
  it('rejects a node row without online', () => {
    expect(ClusterStatusSchema.safeParse([{ type: 'node', id: 'node/a', name: 'a' }]).success).toBe(false);
  });
  it('accepts /nodes with and without stats', () => {
    const nodes = NodeListSchema.parse(clone(nodesData));
    expect(nodes[1]?.cpu).toBeUndefined();
    expect(NodeListSchema.safeParse([{ status: 'online' }]).success).toBe(false);
  });
});

describe('GuestConfigSchema', () => {
  it('accepts a QEMU config with memory as a string and extra keys', () => {
    const config = GuestConfigSchema.parse(clone(qemuConfigData));
    expect(config.memory).toBe('4096');
    expect(config.cores).toBe(2);
    expect(config.net0).toBe('virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,firewall=1,tag=20');
  });
  it('accepts PVE 8.0 numeric memory and LXC configs', () => {
    expect(GuestConfigSchema.parse({ ...clone(qemuConfigData), memory: 2048 }).memory).toBe(2048);
    expect(GuestConfigSchema.parse(clone(lxcConfigData)).hostname).toBe('ct200');
  });
  it.each([
    ['an array', []],
    ['a nested object value', { net0: { model: 'virtio' } }],
    ['text cores', { cores: 'many' }],
    ['null', null],
  ])('rejects %s', (_label, data) => {
    expect(GuestConfigSchema.safeParse(data).success).toBe(false);
  });
});

describe('GuestStatusSchema', () => {
  it('accepts QEMU status with QMP extras and LXC status of a stopped container', () => {
    expect(GuestStatusSchema.parse(clone(qemuStatusData))).toMatchObject({
      qmpstatus: 'running',
      agent: true,
    });
    expect(GuestStatusSchema.parse(clone(lxcStatusData))).toMatchObject({
      status: 'stopped',
      ha: { managed: true },
    });
  });
  it('rejects a status without status', () => {
    expect(GuestStatusSchema.safeParse({ vmid: 1 }).success).toBe(false);
  });
});

describe('interfaces schemas', () => {
  it('accepts QGA output, including an interface without ip-addresses', () => {
    const parsed = AgentInterfacesSchema.parse(clone(agentInterfacesData));
    expect(parsed.result).toHaveLength(3);
    expect(parsed.result[2]?.['ip-addresses']).toBeUndefined();
  });
  it('rejects QGA output not wrapped in result', () => {
    expect(AgentInterfacesSchema.safeParse(clone(agentInterfacesData.result)).success).toBe(false);
  });
  it('accepts LXC interfaces in the new and old shapes, and null for a stopped container', () => {
    expect(LxcInterfacesSchema.parse(clone(lxcInterfacesNew))).toHaveLength(2);
    expect(LxcInterfacesSchema.parse(clone(lxcInterfacesOld))).toHaveLength(2);
    expect(LxcInterfacesSchema.parse(null)).toBeNull();
  });
  it('rejects LXC interfaces without names', () => {
    expect(LxcInterfacesSchema.safeParse([{ hwaddr: 'aa' }]).success).toBe(false);
  });
});

describe('tasks', () => {
  it('accepts a UPID and finds its node', () => {
    expect(UpidSchema.parse(upid)).toBe(upid);
    expect(nodeOfUpid(upid)).toBe('pve1');
  });
  it.each(['', 'UPID:pve1:', 'not-a-upid', 'UPID:pve1:0001A2B3:03C4D5E6:66F1A2B3:qmstart:101:svc@pve!sync'])(
    'rejects the UPID %j',
    (value) => {
      expect(UpidSchema.safeParse(value).success).toBe(false);
      expect(nodeOfUpid(value)).toBeNull();
    },
  );
  it('accepts running and stopped task status', () => {
    expect(TaskStatusSchema.parse(clone(taskRunning)).exitstatus).toBeUndefined();
    expect(TaskStatusSchema.parse(clone(taskStopped)).exitstatus).toBe('OK');
    expect(TaskStatusSchema.safeParse({ ...taskRunning, status: 'done' }).success).toBe(false);
  });
});

describe('PVE 9 shapes', () => {
  it('accepts raw lxc.* keys as [key, value] pairs in a container config', () => {
    const config = GuestConfigSchema.parse({
      ...clone(lxcConfigData),
      lxc: [
        ['lxc.signal.halt', 'SIGQUIT'],
        ['lxc.init.cwd', '/'],
      ],
      entrypoint: '/docker-entrypoint.sh',
    });
    expect(config.lxc).toEqual([
      ['lxc.signal.halt', 'SIGQUIT'],
      ['lxc.init.cwd', '/'],
    ]);
  });

  it('still rejects an object where a config value must be a scalar', () => {
    expect(GuestConfigSchema.safeParse({ ...clone(lxcConfigData), net0: { bridge: 'vmbr0' } }).success).toBe(
      false,
    );
  });

  it('accepts ha.state null for a resource the HA manager has not processed yet', () => {
    const status = GuestStatusSchema.parse({ ...clone(qemuStatusData), ha: { managed: 1, state: null } });
    expect(status.ha).toEqual({ managed: true, state: null });
  });
});

import { describe, expect, it } from 'vitest';
import { type StoredVm, StoredVmSchema } from '#shared/domain/vm-record.ts';
import {
  AFTER_BOOT_IP_WINDOW_MS,
  AGENT_RETRY_MS,
  afterBootRetryDelayMs,
  CONFIG_MAX_AGE_MS,
  configReadReason,
  detailsFromConfig,
  inRotationSlice,
  ipAttributes,
  ipSourceFor,
  listingDiffersFromDetails,
  needsIpAfterBoot,
} from '#shared/sync/plan-full.ts';
import { MIB, row, T0 } from './fixtures.ts';

function vm(overrides: Partial<StoredVm> = {}): StoredVm {
  return StoredVmSchema.parse({
    cluster_id: 'lab-a',
    vmid: 100,
    cluster_name: 'Lab A',
    name: 'vm-100',
    node: 'pve1',
    type: 'qemu',
    category: 'linux',
    status: 'running',
    memory: 2048,
    cores: 2,
    disk_size: 32 * 1024 * MIB,
    is_template: false,
    tag_list: ['lab', 'web'],
    boot_time: T0 - 3_600_000,
    config_checked_at: T0 - 60_000,
    ip_checked_at: T0 - 60_000,
    ip: '10.0.0.5',
    agent_state: 'ok',
    observed_at: T0 - 60_000,
    ...overrides,
  });
}

describe('listingDiffersFromDetails', () => {
  it('is false when the listing matches the stored details', () => {
    expect(listingDiffersFromDetails(vm(), row(100))).toBe(false);
  });

  it.each([
    ['name', { name: 'renamed' }],
    ['memory', { maxmem: 4096 * MIB }],
    ['cores', { maxcpu: 4 }],
    ['disk', { maxdisk: 64 * 1024 * MIB }],
    ['tags', { tags: 'lab' }],
    ['node', { node: 'pve2' }],
    ['template', { template: true }],
  ])('notices a changed %s', (_field, overrides) => {
    expect(listingDiffersFromDetails(vm(), row(100, overrides))).toBe(true);
  });
});

describe('config reads', () => {
  const interval = 5 * 60_000;

  it('puts every guest in exactly one of six slices over 30 minutes', () => {
    for (let vmid = 100; vmid < 160; vmid++) {
      const windows = [0, 1, 2, 3, 4, 5].filter((w) =>
        inRotationSlice(vmid, w * interval, { intervalMs: interval }),
      );
      expect(windows).toHaveLength(1);
    }
  });

  it('reads new and changed guests, and stopped guests that still show a live IP', () => {
    const now = T0;
    const outside = [100, 101, 102, 103, 104, 105].find(
      (id) => !inRotationSlice(id, now, { intervalMs: interval }),
    );
    if (outside === undefined) throw new Error('no guest outside the slice');
    const stored = vm({ vmid: outside });
    expect(configReadReason(undefined, stored, row(outside), now, interval)).toBe('new');
    expect(
      configReadReason(stored, vm({ vmid: outside, config_checked_at: null }), row(outside), now, interval),
    ).toBe('new');
    expect(configReadReason(stored, stored, row(outside, { name: 'x' }), now, interval)).toBe('changed');
    expect(
      configReadReason(stored, vm({ vmid: outside, status: 'stopped' }), row(outside), now, interval),
    ).toBe('ip-fallback');
    expect(configReadReason(stored, stored, row(outside), now, interval)).toBeNull();
  });

  it('skips the rotation turn of a guest the previous full sync read', () => {
    const now = T0;
    const inside = [100, 101, 102, 103, 104, 105].find((id) =>
      inRotationSlice(id, now, { intervalMs: interval }),
    );
    if (inside === undefined) throw new Error('no guest in the slice');
    const readByLastRun = vm({
      vmid: inside,
      name: `vm-${inside}`,
      config_checked_at: now - interval - 5_000,
    });
    expect(configReadReason(readByLastRun, readByLastRun, row(inside), now, interval)).toBeNull();
    const readTwoRunsAgo = vm({ vmid: inside, name: `vm-${inside}`, config_checked_at: now - 2 * interval });
    expect(configReadReason(readTwoRunsAgo, readTwoRunsAgo, row(inside), now, interval)).toBe('rotation');
  });

  it('reads a guest whose turn was skipped before its config outlives the rotation window', () => {
    const now = T0;
    const outside = [100, 101, 102, 103, 104, 105].find(
      (id) => !inRotationSlice(id, now, { intervalMs: interval }),
    );
    if (outside === undefined) throw new Error('no guest outside the slice');
    const nearlyTooOld = vm({ vmid: outside, config_checked_at: now - (CONFIG_MAX_AGE_MS - interval) });
    expect(configReadReason(nearlyTooOld, nearlyTooOld, row(outside), now, interval)).toBe('rotation');
    const younger = vm({ vmid: outside, config_checked_at: now - (CONFIG_MAX_AGE_MS - interval) + 1 });
    expect(configReadReason(younger, younger, row(outside), now, interval)).toBeNull();
  });
});

describe('detailsFromConfig', () => {
  it('maps cores, memory, boot disk, category, MAC, tags and agent', () => {
    const details = detailsFromConfig(
      'qemu',
      {
        name: 'web',
        cores: 2,
        sockets: 2,
        memory: '4096',
        ostype: 'win11',
        agent: '1',
        tags: 'a;b',
        scsi0: 'local-lvm:vm-100-disk-0,size=64G',
        net0: 'virtio=bc:24:11:00:00:01,bridge=vmbr0',
        ipconfig0: 'ip=10.0.0.9/24',
      },
      row(100),
    );
    expect(details.set).toMatchObject({
      name: 'web',
      cores: 4,
      memory: 4096,
      disk_size: 64 * 1024 * MIB,
      category: 'windows',
      mac: 'BC:24:11:00:00:01',
      tag_list: ['a', 'b'],
    });
    expect(details.agentEnabled).toBe(true);
    expect(details.staticIps).toEqual([{ index: 0, address: '10.0.0.9', family: 'ipv4' }]);
  });

  it("maps a container's ostype like the client does: a distribution is linux, unmanaged is other", () => {
    expect(
      detailsFromConfig('lxc', { ostype: 'unmanaged', cores: 1 }, row(100, { type: 'lxc' })).set.category,
    ).toBe('other');
    expect(
      detailsFromConfig('lxc', { ostype: 'debian', cores: 1 }, row(100, { type: 'lxc' })).set.category,
    ).toBe('linux');
  });
});

describe('ipSourceFor', () => {
  it('asks nothing of guests that are not running', () => {
    expect(ipSourceFor(vm({ status: 'stopped' }), T0, true, true)).toBeNull();
  });

  it('asks containers through /interfaces and QEMU guests through the agent when enabled', () => {
    expect(ipSourceFor(vm({ type: 'lxc' }), T0, true, undefined)).toBe('lxc');
    expect(ipSourceFor(vm(), T0, true, true)).toBe('agent');
    expect(ipSourceFor(vm(), T0, true, false)).toBeNull();
    expect(ipSourceFor(vm({ agent_state: 'disabled' }), T0, false, undefined)).toBeNull();
  });

  it('does not ask again without a reason', () => {
    expect(ipSourceFor(vm(), T0, false, undefined)).toBeNull();
  });

  it('asks after a boot even while the negative cache holds', () => {
    const cached = vm({ agent_state: 'not_running', agent_retry_at: T0 + AGENT_RETRY_MS, ip: null });
    expect(ipSourceFor(cached, T0, false, undefined)).toBeNull();
    expect(
      ipSourceFor({ ...cached, boot_time: T0 - 1_000, ip_checked_at: T0 - 60_000 }, T0, false, undefined),
    ).toBe('agent');
    expect(ipSourceFor(cached, T0 + AGENT_RETRY_MS, false, undefined)).toBe('agent');
  });
});

describe('ipAttributes', () => {
  const config = detailsFromConfig(
    'qemu',
    { net0: 'virtio=BC:24:11:00:00:01', ipconfig0: 'ip=10.0.0.9/24', agent: '1' },
    row(100),
  );

  it('prefers the live address on the first NIC', () => {
    const set = ipAttributes({
      vm: vm({ ip: null }),
      nowMs: T0,
      simulated: false,
      config,
      live: {
        kind: 'ok',
        interfaces: [
          { name: 'lo', mac: null, addresses: [{ address: '127.0.0.1', family: 'ipv4' }] },
          { name: 'eth0', mac: 'BC:24:11:00:00:01', addresses: [{ address: '10.0.0.77', family: 'ipv4' }] },
        ],
      },
    });
    expect(set).toMatchObject({ ip: '10.0.0.77', agent_state: 'ok', ip_checked_at: T0 });
  });

  it('falls back to the static config and remembers an absent agent', () => {
    const set = ipAttributes({
      vm: vm({ ip: null }),
      nowMs: T0,
      simulated: false,
      config,
      live: { kind: 'agent-unavailable', state: 'not_running' },
    });
    expect(set).toMatchObject({
      ip: '10.0.0.9',
      agent_state: 'not_running',
      agent_retry_at: T0 + AGENT_RETRY_MS,
    });
  });

  it('keeps the stored IP when neither config nor live data was read', () => {
    expect(ipAttributes({ vm: vm(), nowMs: T0, simulated: false, config: null, live: null })).toEqual({});
  });

  it('replaces the live IP of a stopped guest by the static one', () => {
    const set = ipAttributes({
      vm: vm({ status: 'stopped' }),
      nowMs: T0,
      simulated: false,
      config,
      live: null,
    });
    expect(set).toMatchObject({ ip: '10.0.0.9', agent_state: 'not_running' });
  });
});

describe('needsIpAfterBoot', () => {
  const booted = (overrides: Partial<StoredVm> = {}): StoredVm =>
    vm({ boot_time: T0, ip_checked_at: T0 - 60_000, agent_state: 'not_running', ip: null, ...overrides });

  it('asks at once when nothing was read since the boot', () => {
    expect(needsIpAfterBoot(booted(), T0 + 1_000)).toBe(true);
  });

  it('waits longer after each read that found no address: 5, 10, 20, 40 s, capped', () => {
    expect([0, 3_000, 10_000, 20_000, 40_000, 90_000].map(afterBootRetryDelayMs)).toEqual([
      5_000, 5_000, 10_000, 20_000, 40_000, 40_000,
    ]);
    const readAt = T0 + 20_000;
    expect(needsIpAfterBoot(booted({ ip_checked_at: readAt }), readAt + 19_999)).toBe(false);
    expect(needsIpAfterBoot(booted({ ip_checked_at: readAt }), readAt + 20_000)).toBe(true);
  });

  it('stops once a live address is known, and after the window (the full sync takes over)', () => {
    expect(
      needsIpAfterBoot(booted({ ip_checked_at: T0 + 5_000, agent_state: 'ok', ip: '10.0.0.9' }), T0 + 60_000),
    ).toBe(false);
    expect(needsIpAfterBoot(booted({ ip_checked_at: T0 + 80_000 }), T0 + AFTER_BOOT_IP_WINDOW_MS + 1)).toBe(
      false,
    );
  });
});

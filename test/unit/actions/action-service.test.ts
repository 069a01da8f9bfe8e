import { describe, expect, it } from 'vitest';
import {
  type ActionGateway,
  type ActionServiceDeps,
  createActionService,
} from '#shared/actions/action-service.ts';
import { ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import { confirmedAttributes, expectedStatusAfter, isHaManaged } from '#shared/actions/expected-status.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import { StoredVmSchema } from '#shared/domain/vm-record.ts';
import { ConflictError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import { ProxmoxConnectionError, ProxmoxTimeoutError } from '#shared/proxmox/errors.ts';
import type { OwnershipRepository, PendingRequest, SetPendingResult } from '#shared/store/ports.ts';

const admin: Caller = { username: 'dave', roles: { admin: true, teacher: false } };
const KEY: VmKey = { cluster_id: 'lab-a', vmid: 101 };
const UPID = 'UPID:pve1:00001234:00005678:6744F00D:qmstart:101:root@pam:';

function vm(overrides: Partial<StoredVm> = {}): StoredVm {
  return StoredVmSchema.parse({
    ...KEY,
    cluster_name: 'Lab A',
    name: 'web',
    node: 'pve1',
    type: 'qemu',
    category: 'linux',
    status: 'stopped',
    memory: 1024,
    cores: 1,
    disk_size: 1,
    is_template: false,
    observed_at: 1,
    ...overrides,
  });
}

/** An in-memory inventory holding one VM, with the repository's pending rules. */
function memoryInventory(initial: StoredVm) {
  let item: StoredVm | null = initial;
  const cleared: { since: number; set?: unknown }[] = [];
  const inventory: ActionServiceDeps['inventory'] = {
    getVms: async (keys) =>
      item && keys.some((k) => k.cluster_id === item?.cluster_id && k.vmid === item.vmid) ? [item] : [],
    setPending: async (request: PendingRequest): Promise<SetPendingResult> => {
      if (!item) return { outcome: 'not-found' };
      if (item.pending_action !== undefined && item.pending_since !== undefined) {
        return {
          outcome: 'already-pending',
          pending: {
            pending_action: item.pending_action,
            pending_since: item.pending_since,
            pending_upid: item.pending_upid ?? null,
          },
        };
      }
      item = { ...item, pending_action: request.action, pending_since: request.since, pending_upid: null };
      return { outcome: 'set' };
    },
    setPendingUpid: async (_key, _since, upid) => {
      if (item) item = { ...item, pending_upid: upid };
      return true;
    },
    clearPending: async (_key, since, options) => {
      cleared.push({ since, ...(options?.set ? { set: options.set } : {}) });
      if (item) {
        const { pending_action: _a, pending_since: _s, pending_upid: _u, ...rest } = item;
        item = StoredVmSchema.parse({ ...rest, ...options?.set });
      }
      return true;
    },
  };
  return { inventory, cleared, current: () => item };
}

const noOwnership = {} as OwnershipRepository;

function gateway(overrides: Partial<ActionGateway> = {}) {
  const calls: string[] = [];
  const gw: ActionGateway = {
    powerAction: async (_node, _type, _vmid, action) => {
      calls.push(`power:${action}`);
      return UPID;
    },
    waitForTask: async (upid) => {
      calls.push('task');
      return { finished: true, upid, exitStatus: 'OK', ok: true };
    },
    guestStatus: async () => {
      calls.push('status');
      return { status: 'running' };
    },
    ...overrides,
  };
  return { gw, calls };
}

function service(initial: StoredVm, gw: ActionGateway, overrides: Partial<ActionServiceDeps> = {}) {
  const store = memoryInventory(initial);
  let clock = 1_000;
  const svc = createActionService({
    inventory: store.inventory,
    ownership: noOwnership,
    clusterIds: async () => ['lab-a'],
    gatewayFor: async () => gw,
    now: () => (clock += 10),
    sleep: async () => undefined,
    waitMs: 100,
    pollIntervalMs: 10,
    ...overrides,
  });
  return { svc, store };
}

describe('expected status rules', () => {
  it('maps actions to the status a successful task leaves', () => {
    expect(['start', 'stop', 'shutdown', 'reboot'].map((a) => expectedStatusAfter(a as 'start'))).toEqual([
      'running',
      'stopped',
      'stopped',
      'running',
    ]);
  });

  it('treats any HA state but "ignored" as HA-managed', () => {
    expect(isHaManaged({ hastate: 'started' })).toBe(true);
    expect(isHaManaged({ hastate: 'ignored' })).toBe(false);
    expect(isHaManaged({ hastate: null })).toBe(false);
  });

  it('writes a boot time with a running status only', () => {
    expect(confirmedAttributes('running', 5)).toEqual({ status: 'running', boot_time: 5 });
    expect(confirmedAttributes('stopped', 5)).toEqual({
      status: 'stopped',
      boot_time: null,
      rdp_available: false,
      ssh_available: false,
    });
  });
});

describe('createActionService', () => {
  it('confirms from the task for an ordinary guest (one power call, no status call)', async () => {
    const { gw, calls } = gateway();
    const { svc, store } = service(vm(), gw);
    const result = await svc.perform({ caller: admin, vmid: 101, action: 'start' });
    expect(result).toEqual({
      outcome: 'confirmed',
      key: KEY,
      action: 'start',
      status: 'running',
      upid: UPID,
    });
    expect(calls).toEqual(['power:start', 'task']);
    expect(store.current()).toMatchObject({ status: 'running' });
    expect(store.current()?.pending_action).toBeUndefined();
  });

  it('keeps the action pending when the power call’s answer was lost (the task may exist)', async () => {
    const { gw } = gateway({
      powerAction: () =>
        Promise.reject(
          new ProxmoxTimeoutError('timed out', {
            clusterId: 'lab-a',
            endpointClass: 'power',
            phase: 'headers',
            timeoutMs: 1,
          }),
        ),
    });
    const { svc, store } = service(vm(), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toEqual({
      outcome: 'pending',
      key: KEY,
      action: 'start',
      upid: null,
      reason: 'unconfirmed',
    });
    expect(store.current()?.pending_action).toBe('start');
  });

  it('reverts and reports Proxmox unavailable when nothing could be sent', async () => {
    const { gw } = gateway({
      powerAction: () =>
        Promise.reject(new ProxmoxConnectionError('refused', { clusterId: 'lab-a', endpointClass: 'power' })),
    });
    const { svc, store } = service(vm(), gw);
    await expect(svc.perform({ caller: admin, vmid: 101, action: 'start' })).rejects.toBeInstanceOf(
      ProxmoxUnavailableError,
    );
    expect(store.current()?.pending_action).toBeUndefined();
  });

  it('reverts and rethrows an unexpected error of the power call', async () => {
    const { gw } = gateway({ powerAction: () => Promise.reject(new TypeError('bug')) });
    const { svc, store } = service(vm(), gw);
    await expect(svc.perform({ caller: admin, vmid: 101, action: 'start' })).rejects.toBeInstanceOf(
      TypeError,
    );
    expect(store.cleared).toHaveLength(1);
    expect(store.current()?.pending_action).toBeUndefined();
  });

  it('answers pending when the task status cannot be read', async () => {
    const { gw } = gateway({ waitForTask: () => Promise.reject(new Error('node unreachable')) });
    const { svc, store } = service(vm(), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'pending',
      upid: UPID,
      reason: 'task-running',
    });
    expect(store.current()).toMatchObject({ pending_action: 'start', pending_upid: UPID });
  });

  it('polls an HA-managed guest’s status until it shows the new state', async () => {
    let polls = 0;
    const { gw, calls } = gateway({
      guestStatus: async () => ({ status: ++polls < 3 ? 'stopped' : 'running' }),
    });
    const { svc } = service(vm({ hastate: 'stopped' }), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'confirmed',
      status: 'running',
    });
    expect(polls).toBe(3);
    expect(calls).toEqual(['power:start', 'task']);
  });

  it('leaves an HA-managed guest pending when its status has not changed by the deadline', async () => {
    const { gw } = gateway({ guestStatus: async () => ({ status: 'stopped' }) });
    const { svc, store } = service(vm({ hastate: 'stopped' }), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'pending',
      reason: 'task-running',
    });
    expect(store.current()?.pending_action).toBe('start');
  });

  it('refuses every power action on a template and resolves nothing for an unknown VM', async () => {
    const { gw, calls } = gateway();
    const { svc } = service(vm({ is_template: true }), gw);
    await expect(svc.perform({ caller: admin, vmid: 101, action: 'stop' })).rejects.toThrow(
      'Templates have no power state',
    );
    await expect(svc.perform({ caller: admin, vmid: 101, action: 'start' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(svc.perform({ caller: admin, vmid: 102, action: 'start' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(calls).toEqual([]);
  });
});

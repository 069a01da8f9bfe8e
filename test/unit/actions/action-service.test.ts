import { describe, expect, it } from 'vitest';
import {
  type ActionGateway,
  type ActionServiceDeps,
  createActionService,
  MAX_ACTION_WAIT_MS,
  observedStatus,
} from '#shared/actions/action-service.ts';
import { DeadlineReachedError, type StartTimer, withinDeadline } from '#shared/actions/deadline.ts';
import { ActionFailedError, ProxmoxUnavailableError } from '#shared/actions/errors.ts';
import { confirmedAttributes, expectedStatusAfter, isHaManaged } from '#shared/actions/expected-status.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import { StoredVmSchema } from '#shared/domain/vm-record.ts';
import { ConflictError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import { ProxmoxApiError, ProxmoxConnectionError, ProxmoxTimeoutError } from '#shared/proxmox/errors.ts';
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

/** A call that never answers (a hung Proxmox). */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * A timer whose deadlines all expire on the next turn of the event loop: work that has already
 * answered wins the race (its callbacks run first), work that never answers loses it.
 */
const expiresAtOnce: StartTimer = (_ms, onExpiry) => {
  const handle = setImmediate(onExpiry);
  return () => clearImmediate(handle);
};

describe('withinDeadline', () => {
  const clock = { now: () => 1_000, startTimer: expiresAtOnce };

  it('settles like the work when it answers in time', async () => {
    await expect(withinDeadline(Promise.resolve(7), 2_000, 'x', clock)).resolves.toBe(7);
    await expect(withinDeadline(Promise.reject(new TypeError('no')), 2_000, 'x', clock)).rejects.toThrow(
      TypeError,
    );
  });

  it('rejects with DeadlineReachedError naming the work and its budget when it does not', async () => {
    const error = await withinDeadline(never(), 3_500, 'power call', clock).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineReachedError);
    expect((error as Error).message).toBe('power call: no answer within 2500 ms');
  });

  it('bounds work by a real timer (a 20 ms budget)', async () => {
    const real = {
      now: Date.now,
      startTimer: (ms: number, fire: () => void) => {
        const t = setTimeout(fire, ms);
        return () => clearTimeout(t);
      },
    };
    const error = await withinDeadline(never(), Date.now() + 20, 'task status', real).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeadlineReachedError);
  });
});

describe('observedStatus', () => {
  it('reads a QEMU guest whose process runs paused as paused', () => {
    expect(observedStatus({ status: 'running', qmpstatus: 'paused' })).toBe('paused');
    expect(observedStatus({ status: 'running', qmpstatus: 'running' })).toBe('running');
    expect(observedStatus({ status: 'running' })).toBe('running');
    expect(observedStatus({ status: 'stopped' })).toBe('stopped');
  });
});

describe('every Proxmox call of an action is bounded by the time left', () => {
  it('answers 202 unconfirmed, pending kept, when the power call never answers', async () => {
    const { gw } = gateway({ powerAction: () => never() });
    const { svc, store } = service(vm(), gw, { startTimer: expiresAtOnce });
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toEqual({
      outcome: 'pending',
      key: KEY,
      action: 'start',
      upid: null,
      reason: 'unconfirmed',
    });
    expect(store.current()?.pending_action).toBe('start');
  });

  it('answers 202 with the UPID when the task status never answers', async () => {
    const { gw } = gateway({ waitForTask: () => never() });
    const { svc, store } = service(vm(), gw, { startTimer: expiresAtOnce });
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'pending',
      upid: UPID,
      reason: 'task-running',
    });
    expect(store.current()).toMatchObject({ pending_action: 'start', pending_upid: UPID });
  });

  it('answers 202 when an HA-managed guest’s status polls never answer', async () => {
    const { gw } = gateway({ guestStatus: () => never() });
    const { svc } = service(vm({ hastate: 'stopped' }), gw, { startTimer: expiresAtOnce });
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'pending',
      reason: 'task-running',
    });
  });

  it('reports Proxmox unavailable, with nothing recorded, when the client set-up never finishes', async () => {
    const { gw, calls } = gateway();
    const { svc, store } = service(vm(), gw, { startTimer: expiresAtOnce, gatewayFor: () => never() });
    await expect(svc.perform({ caller: admin, vmid: 101, action: 'start' })).rejects.toBeInstanceOf(
      ProxmoxUnavailableError,
    );
    expect(calls).toEqual([]);
    expect(store.current()?.pending_action).toBeUndefined();
  });

  it('acts as usual when the state check never answers (the power call decides)', async () => {
    let statusCalls = 0;
    const { gw, calls } = gateway({
      guestStatus: () => {
        statusCalls += 1;
        return never();
      },
    });
    const { svc } = service(vm({ status: 'running' }), gw, { startTimer: expiresAtOnce });
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toMatchObject({
      outcome: 'confirmed',
    });
    expect(statusCalls).toBe(1);
    expect(calls).toEqual(['power:start', 'task']);
  });

  it(`refuses a wait above ${MAX_ACTION_WAIT_MS} ms when the service is created`, () => {
    const { gw } = gateway();
    expect(() => service(vm(), gw, { waitMs: 25_000 })).toThrow(RangeError);
  });
});

describe('idempotent power actions', () => {
  it('answers unchanged without a task when the table and Proxmox both show the target state', async () => {
    const { gw, calls } = gateway({
      guestStatus: async () => {
        calls.push('status');
        return { status: 'stopped' };
      },
    });
    const { svc, store } = service(vm({ status: 'stopped' }), gw);
    for (const action of ['stop', 'shutdown'] as const) {
      expect(await svc.perform({ caller: admin, vmid: 101, action })).toEqual({
        outcome: 'unchanged',
        key: KEY,
        action,
        status: 'stopped',
      });
    }
    expect(calls).toEqual(['status', 'status']);
    expect(store.cleared).toEqual([]);
  });

  it('acts when Proxmox does not confirm what the table shows', async () => {
    const { gw, calls } = gateway({
      guestStatus: async () => {
        calls.push('status');
        return { status: 'running' };
      },
    });
    const { svc } = service(vm({ status: 'stopped' }), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'shutdown' })).toMatchObject({
      outcome: 'confirmed',
      status: 'stopped',
    });
    expect(calls).toEqual(['status', 'power:shutdown', 'task']);
  });

  it('never short-cuts a reboot, nor a VM with an action pending', async () => {
    const { gw, calls } = gateway();
    const { svc } = service(vm({ status: 'running' }), gw);
    await svc.perform({ caller: admin, vmid: 101, action: 'reboot' });
    expect(calls).toEqual(['power:reboot', 'task']);

    const pending = gateway();
    const busy = service(vm({ status: 'running', pending_action: 'stop', pending_since: 1_000 }), pending.gw);
    await expect(busy.svc.perform({ caller: admin, vmid: 101, action: 'start' })).rejects.toThrow(
      /Another action \(stop\)/,
    );
    expect(pending.calls).toEqual([]);
  });

  it('turns a refusal into unchanged, writing the status, when the guest already is in the target state', async () => {
    const { gw } = gateway({
      powerAction: () =>
        Promise.reject(
          new ProxmoxApiError('CT 101 already running', {
            clusterId: 'lab-a',
            endpointClass: 'power',
            status: 500,
            serverMessage: 'CT 101 already running',
          }),
        ),
      guestStatus: async () => ({ status: 'running', uptime: 60 }),
    });
    const { svc, store } = service(vm({ status: 'stopped' }), gw);
    expect(await svc.perform({ caller: admin, vmid: 101, action: 'start' })).toEqual({
      outcome: 'unchanged',
      key: KEY,
      action: 'start',
      status: 'running',
    });
    expect(store.current()).toMatchObject({ status: 'running' });
    expect(store.current()?.boot_time).toEqual(expect.any(Number));
    expect(store.current()?.pending_action).toBeUndefined();
  });

  it('keeps the 409 of a refusal when the guest is not in the target state', async () => {
    const { gw } = gateway({
      waitForTask: async (upid) => ({ finished: true, upid, exitStatus: 'VM is locked (backup)', ok: false }),
      guestStatus: async () => ({ status: 'stopped' }),
    });
    const { svc, store } = service(vm({ status: 'stopped' }), gw);
    const refused = await svc.perform({ caller: admin, vmid: 101, action: 'start' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ActionFailedError);
    expect((refused as ActionFailedError).proxmoxMessage).toBe('VM is locked (backup)');
    expect(store.current()?.pending_action).toBeUndefined();
  });
});

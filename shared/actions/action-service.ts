import { PENDING_ACTION_EXPIRY_MS } from '#shared/domain/to-api-vm.ts';
import {
  bootTimeFromUptime,
  normalizeVmStatus,
  type PendingAction,
  type StoredVm,
  type VmKey,
  type VmStatus,
} from '#shared/domain/vm-record.ts';
import { ConflictError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import {
  ProxmoxApiError,
  ProxmoxError,
  ProxmoxInvalidResponseError,
  ProxmoxNotFoundError,
  ProxmoxPermissionError,
  ProxmoxTimeoutError,
} from '#shared/proxmox/errors.ts';
import type { ProxmoxGateway, TaskOutcome } from '#shared/proxmox/gateway.ts';
import type { GuestStatus } from '#shared/proxmox/schemas.ts';
import type { InventoryRepository } from '#shared/store/ports.ts';
import {
  ACTION_CALL_BUDGET_MS,
  DEFAULT_ACTION_POLL_MS,
  DEFAULT_ACTION_WAIT_MS,
  MAX_ACTION_WAIT_MS,
} from './action-timing.ts';
import { DeadlineReachedError, realTimer, type StartTimer, withinDeadline } from './deadline.ts';
import { ActionFailedError, OtherActionPendingError, ProxmoxUnavailableError } from './errors.ts';
import { confirmedAttributes, expectedStatusAfter, isHaManaged } from './expected-status.ts';
import { type ResolveTargetDeps, resolveActionTarget } from './resolve-target.ts';

export {
  ACTION_CALL_BUDGET_MS,
  ACTION_WAIT_ENV,
  DEFAULT_ACTION_POLL_MS,
  DEFAULT_ACTION_WAIT_MS,
  MAX_ACTION_WAIT_MS,
} from './action-timing.ts';

/** The part of the Proxmox client an action uses. */
export type ActionGateway = Pick<ProxmoxGateway, 'powerAction' | 'waitForTask' | 'guestStatus'>;

/** Where the action service logs what the client is not told. */
export interface ActionLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** Dependencies of {@link createActionService}. */
export interface ActionServiceDeps extends ResolveTargetDeps {
  readonly inventory: Pick<InventoryRepository, 'getVms' | 'setPending' | 'setPendingUpid' | 'clearPending'>;
  /** The Proxmox client of a cluster (created once per cluster by the entry point). */
  readonly gatewayFor: (clusterId: string) => Promise<ActionGateway>;
  /** epoch ms clock (default Date.now) */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The timer bounding each Proxmox call by the time left (default: the platform's). */
  readonly startTimer?: StartTimer;
  readonly logger?: ActionLogger;
  /**
   * Answer 202 at the latest this long after the request arrived unless the new state is
   * confirmed earlier (default {@link DEFAULT_ACTION_WAIT_MS}, at most {@link MAX_ACTION_WAIT_MS}).
   */
  readonly waitMs?: number;
  /** default {@link DEFAULT_ACTION_POLL_MS} */
  readonly pollIntervalMs?: number;
  /** A pending action older than this is over (default 120 s). */
  readonly pendingExpiryMs?: number;
}

/** One action request: a VMID from the path, `cluster` from the query when given. */
export interface ActionRequest {
  readonly caller: Caller;
  readonly vmid: number;
  readonly action: PendingAction;
  readonly clusterId?: string | undefined;
}

/** Why an action answered before its new state was confirmed. */
export type PendingReason =
  /** the task (or the HA stack) was still working when the wait ended */
  | 'task-running'
  /** the same action was already pending: nothing was sent to Proxmox */
  | 'already-pending'
  /** the request reached Proxmox (or may have) but its answer did not arrive in time: the next sync tells */
  | 'unconfirmed';

/** What an action came to (errors are thrown: see errors.ts and the HTTP errors). */
export type ActionResult =
  | {
      readonly outcome: 'confirmed';
      readonly key: VmKey;
      readonly action: PendingAction;
      readonly status: VmStatus;
      readonly upid: string;
    }
  | {
      /** The guest already was in the state the action leads to (Proxmox said so): no task was run. */
      readonly outcome: 'unchanged';
      readonly key: VmKey;
      readonly action: PendingAction;
      readonly status: VmStatus;
    }
  | {
      readonly outcome: 'pending';
      readonly key: VmKey;
      readonly action: PendingAction;
      readonly upid: string | null;
      readonly reason: PendingReason;
    };

/** The action service: pending at once, one Proxmox call, confirmed (or 202) within the wait. */
export interface ActionService {
  perform(request: ActionRequest): Promise<ActionResult>;
}

/** True when a failed power call may still have created its task (the request was sent). */
function mayHaveRun(error: unknown): boolean {
  return (
    (error instanceof ProxmoxTimeoutError && error.phase !== 'connect') ||
    error instanceof ProxmoxInvalidResponseError ||
    error instanceof DeadlineReachedError
  );
}

/** Maps a power-call failure that certainly ran nothing to the error the client gets. */
function refusal(error: unknown): unknown {
  if (error instanceof ProxmoxApiError)
    return new ActionFailedError(error.serverMessage || error.message, null, error);
  if (error instanceof ProxmoxNotFoundError || error instanceof ProxmoxPermissionError)
    return new ActionFailedError(error.message, null, error);
  if (error instanceof ProxmoxError) return new ProxmoxUnavailableError(error.message, { cause: error });
  return error;
}

/**
 * The status a `status/current` answer shows: a QEMU guest whose process runs but whose QMP
 * status is another known state (paused, suspended, prelaunch…) is in that state, not running.
 */
export function observedStatus(current: Pick<GuestStatus, 'status' | 'qmpstatus'>): VmStatus {
  const status = normalizeVmStatus(current.status);
  if (status === 'running' && current.qmpstatus !== undefined) {
    const qmp = normalizeVmStatus(current.qmpstatus);
    if (qmp !== 'unknown') return qmp;
  }
  return status;
}

/** Actions that are no-ops when the guest already is in their target state (reboot never is). */
function hasSteadyTarget(action: PendingAction): boolean {
  return action !== 'reboot';
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the action service. `perform`:
 * 1. resolves the VM among those the caller may act on (404 / 409 with candidates);
 * 2. refuses templates (409);
 * 3. when the table already shows the action's target state (start → running, stop/shutdown →
 *    stopped) and nothing is pending, asks Proxmox for the guest's status: confirmed → answers
 *    `unchanged` (200) without starting a task;
 * 4. records the pending action at once (the list shows it), or answers 202 without calling
 *    Proxmox when the same action is already pending (409 when another one is);
 * 5. calls Proxmox once (never retried); a refusal reverts the pending state, unless the guest
 *    turns out to be in the target state already (`unchanged`, the status written);
 * 6. waits for the task until `waitMs` after the request arrived: a failed task reverts the
 *    pending state and throws Proxmox's text; a successful one writes the confirmed status,
 *    guarded so that a newer observation wins (HA-managed guests: confirmed from their status, not
 *    from the task); otherwise answers pending (202) and leaves the confirmation to the sync.
 *
 * Every Proxmox call (the client set-up included) is bounded by the time left: the set-up, the
 * state check (at most half of what is left) and the power call by {@link ACTION_CALL_BUDGET_MS}
 * or the wait, whichever is longer; the task and status polls by the wait. So an action answers within
 * max(wait, call budget) plus its table writes, whatever Proxmox does.
 */
export function createActionService(deps: ActionServiceDeps): ActionService {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const clock = { now, startTimer: deps.startTimer ?? realTimer };
  const waitMs = deps.waitMs ?? DEFAULT_ACTION_WAIT_MS;
  if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > MAX_ACTION_WAIT_MS) {
    throw new RangeError(`action wait must be from 0 to ${MAX_ACTION_WAIT_MS} ms, got ${waitMs}`);
  }
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_ACTION_POLL_MS;
  const pendingExpiryMs = deps.pendingExpiryMs ?? PENDING_ACTION_EXPIRY_MS;

  const errorText = (error: unknown): string => (error instanceof Error ? error.message : 'unknown');

  /** The guest's status from Proxmox, or null when it cannot be read before `deadline`. */
  async function readStatus(
    gateway: ActionGateway,
    vm: StoredVm,
    deadline: number,
  ): Promise<GuestStatus | null> {
    try {
      return await withinDeadline(
        gateway.guestStatus(vm.node, vm.type, vm.vmid),
        deadline,
        'guest status',
        clock,
      );
    } catch (error) {
      deps.logger?.warn('Guest status unavailable', {
        cluster_id: vm.cluster_id,
        vmid: vm.vmid,
        error: errorText(error),
      });
      return null;
    }
  }

  /** Polls the guest's status until it shows `expected` or the deadline passes (HA-managed guests). */
  async function waitForStatus(
    gateway: ActionGateway,
    vm: StoredVm,
    expected: VmStatus,
    deadline: number,
  ): Promise<VmStatus | null> {
    for (;;) {
      const current = await readStatus(gateway, vm, deadline);
      if (current !== null && observedStatus(current) === expected) return expected;
      const remaining = deadline - now();
      if (remaining <= 0) return null;
      await sleep(Math.min(pollIntervalMs, remaining));
    }
  }

  /**
   * After Proxmox refused the action: when the guest already is in the action's target state (the
   * table was behind), writes that status and answers `unchanged`; otherwise null.
   */
  async function unchangedAfterRefusal(
    gateway: ActionGateway,
    vm: StoredVm,
    action: PendingAction,
    since: number,
    deadline: number,
  ): Promise<ActionResult | null> {
    if (!hasSteadyTarget(action)) return null;
    const expected = expectedStatusAfter(action);
    const current = await readStatus(gateway, vm, deadline);
    if (current === null || observedStatus(current) !== expected) return null;
    const observedAt = now();
    const bootTime =
      expected === 'running' && current.uptime !== undefined
        ? bootTimeFromUptime(observedAt, current.uptime)
        : null;
    await deps.inventory.clearPending({ cluster_id: vm.cluster_id, vmid: vm.vmid }, since, {
      observedAt,
      set: { status: expected, boot_time: bootTime },
    });
    return {
      outcome: 'unchanged',
      key: { cluster_id: vm.cluster_id, vmid: vm.vmid },
      action,
      status: expected,
    };
  }

  return {
    async perform(request) {
      const arrival = now();
      const callDeadline = arrival + Math.max(waitMs, ACTION_CALL_BUDGET_MS);
      const waitDeadline = arrival + waitMs;
      const vm = await resolveActionTarget(deps, request);
      const key: VmKey = { cluster_id: vm.cluster_id, vmid: vm.vmid };
      const { action } = request;
      if (vm.is_template) {
        throw new ConflictError(
          action === 'start' ? 'Templates cannot be started' : 'Templates have no power state',
        );
      }
      let gateway: ActionGateway;
      try {
        gateway = await withinDeadline(deps.gatewayFor(vm.cluster_id), callDeadline, 'Proxmox client', clock);
      } catch (error) {
        if (error instanceof DeadlineReachedError) {
          throw new ProxmoxUnavailableError(`no connection to cluster ${vm.cluster_id} in time`, {
            cause: error,
          });
        }
        throw error;
      }

      const expected = expectedStatusAfter(action);
      if (hasSteadyTarget(action) && vm.status === expected && vm.pending_action === undefined) {
        // The table says there is nothing to do: Proxmox confirms before the answer says so. The
        // check gets half the time left, so that the power call keeps the other half if it hangs.
        const checkDeadline = now() + Math.max(0, callDeadline - now()) / 2;
        const current = await readStatus(gateway, vm, checkDeadline);
        if (current !== null && observedStatus(current) === expected) {
          return { outcome: 'unchanged', key, action, status: expected };
        }
      }

      const since = now();
      const recorded = await deps.inventory.setPending({ key, action, since, expiryMs: pendingExpiryMs });
      if (recorded.outcome === 'not-found') throw new NotFoundError(`VM ${vm.vmid} not found`);
      if (recorded.outcome === 'already-pending') {
        const { pending } = recorded;
        if (pending.pending_action !== action) {
          throw new OtherActionPendingError(pending.pending_action, pending.pending_upid);
        }
        return { outcome: 'pending', key, action, upid: pending.pending_upid, reason: 'already-pending' };
      }

      let upid: string;
      try {
        upid = await withinDeadline(
          gateway.powerAction(vm.node, vm.type, vm.vmid, action),
          callDeadline,
          'power call',
          clock,
        );
      } catch (error) {
        if (mayHaveRun(error)) {
          // The task may exist: keep the pending state; the sync confirms or it expires.
          deps.logger?.warn('Power action answer lost; leaving it pending', {
            ...key,
            action,
            error: errorText(error),
          });
          return { outcome: 'pending', key, action, upid: null, reason: 'unconfirmed' };
        }
        const failure = refusal(error);
        if (failure instanceof ActionFailedError) {
          const unchanged = await unchangedAfterRefusal(gateway, vm, action, since, callDeadline);
          if (unchanged !== null) return unchanged;
        }
        await deps.inventory.clearPending(key, since);
        throw failure;
      }
      await deps.inventory.setPendingUpid(key, since, upid);

      let task: TaskOutcome;
      try {
        task = await withinDeadline(
          gateway.waitForTask(upid, {
            timeoutMs: Math.max(0, waitDeadline - now()),
            intervalMs: pollIntervalMs,
          }),
          waitDeadline,
          'task status',
          clock,
        );
      } catch (error) {
        deps.logger?.warn('Task status unavailable; leaving it pending', {
          ...key,
          upid,
          error: errorText(error),
        });
        return { outcome: 'pending', key, action, upid, reason: 'task-running' };
      }
      if (!task.finished) return { outcome: 'pending', key, action, upid, reason: 'task-running' };
      if (!task.ok) {
        const unchanged = await unchangedAfterRefusal(gateway, vm, action, since, callDeadline);
        if (unchanged !== null) return unchanged;
        await deps.inventory.clearPending(key, since);
        throw new ActionFailedError(task.exitStatus, upid);
      }

      let status: VmStatus | null = expected;
      if (isHaManaged(vm)) status = await waitForStatus(gateway, vm, expected, waitDeadline);
      if (status === null) return { outcome: 'pending', key, action, upid, reason: 'task-running' };

      const confirmedAt = now();
      const cleared = await deps.inventory.clearPending(key, since, {
        observedAt: confirmedAt,
        set: confirmedAttributes(status, confirmedAt),
      });
      if (!cleared) deps.logger?.info('Pending action ended elsewhere before confirmation', { ...key, upid });
      return { outcome: 'confirmed', key, action, status, upid };
    },
  };
}

import { PENDING_ACTION_EXPIRY_MS } from '#shared/domain/to-api-vm.ts';
import {
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
import type { InventoryRepository } from '#shared/store/ports.ts';
import { ActionFailedError, OtherActionPendingError, ProxmoxUnavailableError } from './errors.ts';
import { confirmedAttributes, expectedStatusAfter, isHaManaged } from './expected-status.ts';
import { type ResolveTargetDeps, resolveActionTarget } from './resolve-target.ts';

/** How long an action waits for its Proxmox task before answering 202 (HTTP API integrations end at 30 s). */
export const DEFAULT_ACTION_WAIT_MS = 20_000;
/** Pause between task (or HA status) polls. */
export const DEFAULT_ACTION_POLL_MS = 1_000;

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
  readonly logger?: ActionLogger;
  /** Wait for the task at most this long (default {@link DEFAULT_ACTION_WAIT_MS}). */
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
  /** the request reached Proxmox but its answer was lost (timeout): the next sync tells */
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
    error instanceof ProxmoxInvalidResponseError
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

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the action service. `perform`:
 * 1. resolves the VM among those the caller may act on (404 / 409 with candidates);
 * 2. refuses templates (409);
 * 3. records the pending action at once (the list shows it), or answers 202 without calling
 *    Proxmox when the same action is already pending (409 when another one is);
 * 4. calls Proxmox once (never retried); a refusal reverts the pending state;
 * 5. waits for the task up to `waitMs`: a failed task reverts the pending state and throws
 *    Proxmox's text; a successful one writes the confirmed status, guarded so that a newer
 *    observation wins (HA-managed guests: confirmed from their status, not from the task);
 *    otherwise answers pending (202) and leaves the confirmation to the next sync.
 */
export function createActionService(deps: ActionServiceDeps): ActionService {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const waitMs = deps.waitMs ?? DEFAULT_ACTION_WAIT_MS;
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_ACTION_POLL_MS;
  const pendingExpiryMs = deps.pendingExpiryMs ?? PENDING_ACTION_EXPIRY_MS;

  /** Polls the guest's status until it shows `expected` or the deadline passes (HA-managed guests). */
  async function waitForStatus(
    gateway: ActionGateway,
    vm: StoredVm,
    expected: VmStatus,
    deadline: number,
  ): Promise<VmStatus | null> {
    for (;;) {
      try {
        const current = await gateway.guestStatus(vm.node, vm.type, vm.vmid);
        const status = normalizeVmStatus(current.status);
        if (status === expected) return status;
      } catch (error) {
        deps.logger?.warn('HA status poll failed', {
          error: error instanceof Error ? error.message : 'unknown',
        });
      }
      const remaining = deadline - now();
      if (remaining <= 0) return null;
      await sleep(Math.min(pollIntervalMs, remaining));
    }
  }

  return {
    async perform(request) {
      const vm = await resolveActionTarget(deps, request);
      const key: VmKey = { cluster_id: vm.cluster_id, vmid: vm.vmid };
      const { action } = request;
      if (vm.is_template) {
        throw new ConflictError(
          action === 'start' ? 'Templates cannot be started' : 'Templates have no power state',
        );
      }
      const gateway = await deps.gatewayFor(vm.cluster_id);

      const since = now();
      const deadline = since + waitMs;
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
        upid = await gateway.powerAction(vm.node, vm.type, vm.vmid, action);
      } catch (error) {
        if (mayHaveRun(error)) {
          // The task may exist: keep the pending state; the sync confirms or it expires.
          deps.logger?.warn('Power action answer lost; leaving it pending', { ...key, action });
          return { outcome: 'pending', key, action, upid: null, reason: 'unconfirmed' };
        }
        await deps.inventory.clearPending(key, since);
        throw refusal(error);
      }
      await deps.inventory.setPendingUpid(key, since, upid);

      let task: TaskOutcome;
      try {
        task = await gateway.waitForTask(upid, {
          timeoutMs: Math.max(0, deadline - now()),
          intervalMs: pollIntervalMs,
        });
      } catch (error) {
        deps.logger?.warn('Task status unavailable; leaving it pending', {
          ...key,
          upid,
          error: error instanceof Error ? error.message : 'unknown',
        });
        return { outcome: 'pending', key, action, upid, reason: 'task-running' };
      }
      if (!task.finished) return { outcome: 'pending', key, action, upid, reason: 'task-running' };
      if (!task.ok) {
        await deps.inventory.clearPending(key, since);
        throw new ActionFailedError(task.exitStatus, upid);
      }

      const expected = expectedStatusAfter(action);
      let status: VmStatus | null = expected;
      if (isHaManaged(vm)) status = await waitForStatus(gateway, vm, expected, deadline);
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

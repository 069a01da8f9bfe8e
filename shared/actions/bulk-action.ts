import type { AuditEntryInput } from '#shared/audit/audit-entry.ts';
import { type AuditFailureLog, type AuditPort, recordAuditSafely } from '#shared/audit/audit-port.ts';
import { expectedStatusAfter } from '#shared/domain/pending-action.ts';
import type { PendingAction, StoredVm, VmKey, VmStatus } from '#shared/domain/vm-record.ts';
import { HttpError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { InventoryRepository } from '#shared/store/ports.ts';
import type { ActionLogger, ActionResult, ActionService } from './action-service.ts';
import { ProxmoxUnavailableError } from './errors.ts';
import { UnknownClusterError } from './gateway-provider.ts';

/**
 * Bulk power actions: many VMs in one request, each through the same action service as a single
 * action (visibility, templates, pending state, one Proxmox call, confirmation), with the Proxmox
 * load bounded: per (cluster, node) at most the cluster's worker limit of actions at once (a
 * Proxmox node's API daemon has 3 workers), all nodes in parallel. Each VM ends in one outcome,
 * and a refusal or failure of one never hides the others' results.
 */

export { MAX_BULK_VMS } from './bulk-job.ts';

/** Each VM's wait for its confirmation within a bulk action (then it is reported pending). */
export const DEFAULT_BULK_VM_WAIT_MS = 3_000;

/**
 * After this long (from the request's arrival) the remaining VMs get no wait at all: their power
 * call is still sent and they are reported pending, so that the answer stays inside the HTTP
 * API's 30 s.
 */
export const DEFAULT_BULK_BUDGET_MS = 15_000;

/** What became of one VM of a bulk action. */
export type BulkOutcome =
  /** confirmed (or already in the target state) */
  | 'done'
  /** sent; the task runs on or the next sync confirms it */
  | 'pending'
  /** refused before anything ran (not visible, template, another action pending, Proxmox refused) */
  | 'refused'
  /** Proxmox unreachable or an unexpected error: the action was not run */
  | 'failed';

/** One VM's line of a bulk result. */
export interface BulkItemResult {
  readonly cluster_id: string;
  readonly vmid: number;
  readonly outcome: BulkOutcome;
  /** the confirmed status (done), else null */
  readonly status: VmStatus | null;
  readonly upid: string | null;
  /** the error code of a refused or failed VM (as a single action would answer), else null */
  readonly error_code: string | null;
  /** why: the error message, `unchanged`, `task-running`, … */
  readonly reason: string | null;
}

/** A bulk request, its targets resolved (a class's VMs are resolved by the caller of this). */
export interface BulkActionRequest {
  readonly caller: Caller;
  readonly action: PendingAction;
  readonly targets: readonly VmKey[];
  /** unique per request: the audit entries' request ids derive from it */
  readonly requestId: string;
  /** the class the targets came from, recorded in the audit entries */
  readonly classId?: string | undefined;
  /** the audit entries' `action` (default `bulkAction`) */
  readonly auditAction?: string;
}

/** Dependencies of {@link runBulkAction}. */
export interface BulkActionDeps {
  readonly inventory: Pick<InventoryRepository, 'getVms'>;
  /** The action service with the given confirmation wait (ms). */
  readonly actionService: (waitMs: number) => ActionService;
  /** The per-node worker limit of a cluster (its `maxInFlightPerNode`). */
  readonly workerLimit: (clusterId: string) => number;
  readonly audit?: AuditPort | undefined;
  readonly logger?: ActionLogger & AuditFailureLog;
  readonly now?: () => number;
  /** default {@link DEFAULT_BULK_VM_WAIT_MS} */
  readonly vmWaitMs?: number;
  /** default {@link DEFAULT_BULK_BUDGET_MS} */
  readonly budgetMs?: number;
}

/** Counts of a bulk result by outcome. */
export type BulkCounts = Record<BulkOutcome, number>;

/** Counts the outcomes of a result. */
export function countOutcomes(results: readonly BulkItemResult[]): BulkCounts {
  const counts: BulkCounts = { done: 0, pending: 0, refused: 0, failed: 0 };
  for (const result of results) counts[result.outcome] += 1;
  return counts;
}

/** The bulk line of an action result. */
export function resultLine(result: ActionResult): BulkItemResult {
  const base = { cluster_id: result.key.cluster_id, vmid: result.key.vmid, error_code: null };
  switch (result.outcome) {
    case 'confirmed':
      return { ...base, outcome: 'done', status: result.status, upid: result.upid, reason: null };
    case 'unchanged':
      return { ...base, outcome: 'done', status: result.status, upid: null, reason: 'unchanged' };
    case 'pending':
      return { ...base, outcome: 'pending', status: null, upid: result.upid, reason: result.reason };
  }
}

/**
 * The bulk line of an error thrown for one VM: client errors are refusals with the message every
 * caller of a single action would read; an unreachable Proxmox is a failure; anything else a
 * failure whose detail only the log has.
 */
export function errorLine(key: VmKey, error: unknown): BulkItemResult {
  const base = { cluster_id: key.cluster_id, vmid: key.vmid, status: null, upid: null };
  if (error instanceof HttpError && error.status < 500) {
    return { ...base, outcome: 'refused', error_code: error.code, reason: error.message };
  }
  if (error instanceof ProxmoxUnavailableError || error instanceof UnknownClusterError) {
    return {
      ...base,
      outcome: 'failed',
      error_code: 'proxmox_unavailable',
      reason: 'Proxmox is unavailable; the action was not run',
    };
  }
  return { ...base, outcome: 'failed', error_code: 'internal_error', reason: 'Internal error' };
}

/** The HTTP status a single action would have answered for a line (the audit entry's status). */
function statusOfLine(line: BulkItemResult): number {
  switch (line.outcome) {
    case 'done':
      return 200;
    case 'pending':
      return 202;
    case 'refused':
      return line.error_code === 'not_found' ? 404 : line.error_code === 'forbidden' ? 403 : 409;
    case 'failed':
      return line.error_code === 'proxmox_unavailable' ? 502 : 500;
  }
}

/** The audit entry of one VM of a bulk action. */
export function auditEntryOfLine(
  request: Pick<BulkActionRequest, 'caller' | 'action' | 'requestId' | 'classId' | 'auditAction'>,
  line: BulkItemResult,
  at: number,
): AuditEntryInput {
  const status = statusOfLine(line);
  return {
    at,
    actor: request.caller.username,
    action: request.auditAction ?? 'bulkAction',
    target: {
      cluster_id: line.cluster_id,
      vmid: line.vmid,
      operation: request.action,
      ...(request.classId === undefined ? {} : { class_id: request.classId }),
    },
    result: line.outcome === 'refused' ? 'refused' : line.outcome === 'failed' ? 'failed' : 'success',
    status,
    error_code: line.error_code,
    request_id: `${request.requestId}#${line.cluster_id}#${line.vmid}`,
  };
}

/** Distinct keys in request order. */
export function distinctKeys(keys: readonly VmKey[]): VmKey[] {
  const seen = new Map<string, VmKey>();
  for (const key of keys) {
    const id = `${key.cluster_id}#${key.vmid}`;
    if (!seen.has(id)) seen.set(id, { cluster_id: key.cluster_id, vmid: key.vmid });
  }
  return [...seen.values()];
}

/** Runs `work` over `items` with at most `limit` at a time, in order of start. */
async function withConcurrency<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (item === undefined) return;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Runs one power action on many VMs. Targets are grouped by (cluster, node) as the table knows
 * them (a VM the table does not hold forms its own group: the action service answers it 404, as
 * for a VM the caller may not see); each group runs at most the cluster's worker limit of actions
 * at once. Each VM waits at most `vmWaitMs` for its confirmation, and none once `budgetMs` since
 * the arrival has passed (still sent, reported pending). Every VM is audited with its own entry.
 * Results keep the request's order.
 */
export async function runBulkAction(
  deps: BulkActionDeps,
  request: BulkActionRequest,
): Promise<BulkItemResult[]> {
  const now = deps.now ?? Date.now;
  const arrival = now();
  const vmWaitMs = deps.vmWaitMs ?? DEFAULT_BULK_VM_WAIT_MS;
  const budgetEnd = arrival + (deps.budgetMs ?? DEFAULT_BULK_BUDGET_MS);
  const targets = distinctKeys(request.targets);
  const stored = targets.length === 0 ? [] : await deps.inventory.getVms(targets);
  const byKey = new Map<string, StoredVm>(stored.map((vm) => [`${vm.cluster_id}#${vm.vmid}`, vm]));

  const groups = new Map<string, { clusterId: string; keys: VmKey[] }>();
  for (const key of targets) {
    const node = byKey.get(`${key.cluster_id}#${key.vmid}`)?.node ?? `?${key.vmid}`;
    const groupId = `${key.cluster_id}#${node}`;
    const group = groups.get(groupId) ?? { clusterId: key.cluster_id, keys: [] };
    group.keys.push(key);
    groups.set(groupId, group);
  }

  const lines = new Map<string, BulkItemResult>();
  const runOne = async (key: VmKey): Promise<void> => {
    const waitMs = Math.max(0, Math.min(vmWaitMs, budgetEnd - now()));
    let line: BulkItemResult;
    try {
      const result = await deps.actionService(waitMs).perform({
        caller: request.caller,
        vmid: key.vmid,
        action: request.action,
        clusterId: key.cluster_id,
      });
      line = resultLine(result);
    } catch (error) {
      line = errorLine(key, error);
      if (line.error_code === 'internal_error' || line.error_code === 'proxmox_unavailable') {
        deps.logger?.warn('Bulk action failed for a VM', {
          ...key,
          action: request.action,
          error: error instanceof Error ? error.message : 'unknown',
        });
      }
    }
    lines.set(`${key.cluster_id}#${key.vmid}`, line);
    if (deps.audit !== undefined) {
      await recordAuditSafely(deps.audit, auditEntryOfLine(request, line, now()), deps.logger ?? silent);
    }
  };

  await Promise.all(
    [...groups.values()].map((group) =>
      withConcurrency(group.keys, Math.max(1, deps.workerLimit(group.clusterId)), runOne),
    ),
  );
  return targets.map((key) => {
    const line = lines.get(`${key.cluster_id}#${key.vmid}`);
    if (line === undefined) throw new Error('bulk action lost a VM');
    return line;
  });
}

const silent: AuditFailureLog = { error: () => {} };

/**
 * A stored line brought up to date from the VM's item: a pending line whose pending action has
 * ended shows the status the table holds now (done when it is the action's target status, failed
 * otherwise); one whose pending action expired unconfirmed is failed. Other lines are final.
 */
export function refreshLine(
  line: BulkItemResult,
  action: PendingAction,
  vm: StoredVm | undefined,
  nowMs: number,
  pendingExpiryMs: number,
): BulkItemResult {
  if (line.outcome !== 'pending') return line;
  if (vm === undefined) {
    return { ...line, outcome: 'failed', error_code: 'not_found', reason: 'the VM is gone' };
  }
  const live =
    vm.pending_action === action &&
    vm.pending_since !== undefined &&
    nowMs - vm.pending_since <= pendingExpiryMs;
  if (live) return line;
  if (vm.status === expectedStatusAfter(action)) {
    return { ...line, outcome: 'done', status: vm.status, reason: 'confirmed by the sync' };
  }
  if (vm.pending_action === action) {
    return {
      ...line,
      outcome: 'failed',
      error_code: 'action_failed',
      reason: 'not confirmed before it expired',
    };
  }
  return {
    ...line,
    outcome: 'failed',
    status: vm.status,
    error_code: 'action_failed',
    reason: `the VM is ${vm.status}`,
  };
}

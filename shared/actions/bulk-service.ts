import type { PublishAlert } from '#shared/alerts/alerts.ts';
import { requireClassManager } from '#shared/api/ownership-views.ts';
import { PENDING_ACTION_EXPIRY_MS } from '#shared/domain/to-api-vm.ts';
import type { PendingAction, VmKey } from '#shared/domain/vm-record.ts';
import { NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { BulkActionResponse } from '#shared/http/schemas/bulk.ts';
import type { InventoryRepository, OwnershipRepository } from '#shared/store/ports.ts';
import { actionFailedAlert, publishActionFailedSafely } from './action-alerts.ts';
import { type BulkActionDeps, countOutcomes, refreshLine, runBulkAction } from './bulk-action.ts';
import type { BulkJob, BulkJobStore } from './bulk-job.ts';

/** Dependencies of the bulk routes' service. */
export interface BulkServiceDeps extends BulkActionDeps {
  readonly inventory: Pick<InventoryRepository, 'getVms'>;
  readonly ownership: Pick<OwnershipRepository, 'getClass'>;
  readonly jobs: BulkJobStore;
  readonly newId: () => string;
  /** default 120 s (the action service's) */
  readonly pendingExpiryMs?: number;
  /** the admin alerts: one `action_failed` per request with failed VMs; none when absent */
  readonly publishAlert?: PublishAlert | undefined;
}

/** A bulk request as the route receives it. */
export interface StartBulkRequest {
  readonly caller: Caller;
  readonly action: PendingAction;
  readonly vms?: readonly VmKey[] | undefined;
  readonly classId?: string | undefined;
  readonly requestId: string;
}

/**
 * The VMs of a class a caller may act on as a whole: its teachers' and admins' (404 for a class the
 * caller does not see, 403 for its students), suspended links left out.
 */
export async function classTargets(
  ownership: Pick<OwnershipRepository, 'getClass'>,
  caller: Caller,
  classId: string,
): Promise<VmKey[]> {
  const details = requireClassManager(caller, await ownership.getClass(classId));
  return details.vms
    .filter((link) => !link.suspended)
    .map((link) => ({ cluster_id: link.cluster_id, vmid: link.vmid }));
}

/**
 * Runs a bulk request (a list, or a class's VMs) and keeps its record for the status route. A
 * request with failed VMs (see {@link actionFailedAlert}: not the caller's refusals) raises one
 * `action_failed` alert; publishing it never fails the request.
 */
export async function startBulkAction(deps: BulkServiceDeps, request: StartBulkRequest): Promise<BulkJob> {
  const now = deps.now ?? Date.now;
  const classId = request.classId ?? null;
  const targets =
    classId === null ? [...(request.vms ?? [])] : await classTargets(deps.ownership, request.caller, classId);
  const bulkId = deps.newId();
  const createdAt = now();
  const results = await runBulkAction(deps, {
    caller: request.caller,
    action: request.action,
    targets,
    requestId: bulkId,
    classId: classId ?? undefined,
  });
  const job: BulkJob = {
    bulk_id: bulkId,
    actor: request.caller.username,
    action: request.action,
    class_id: classId,
    created_at: createdAt,
    results,
  };
  await deps.jobs.putBulkJob(job);
  await publishActionFailedSafely(
    deps.publishAlert,
    actionFailedAlert(results, {
      source: 'bulk',
      action: request.action,
      reference: bulkId,
      classId: classId ?? undefined,
    }),
    deps.logger,
  );
  return job;
}

/**
 * A bulk job as its caller (or an admin) polls it: pending lines brought up to date from the
 * inventory (consistent reads), the others as recorded. 404 for anyone else's job.
 */
export async function readBulkAction(
  deps: Pick<BulkServiceDeps, 'inventory' | 'jobs' | 'now' | 'pendingExpiryMs'>,
  caller: Caller,
  bulkId: string,
): Promise<BulkJob> {
  const job = await deps.jobs.getBulkJob(bulkId);
  if (job === null || (job.actor !== caller.username && !caller.roles.admin)) {
    throw new NotFoundError('Bulk action not found');
  }
  const pending = job.results.filter((line) => line.outcome === 'pending');
  if (pending.length === 0) return job;
  const vms = await deps.inventory.getVms(
    pending.map((line) => ({ cluster_id: line.cluster_id, vmid: line.vmid })),
    { consistentRead: true },
  );
  const byKey = new Map(vms.map((vm) => [`${vm.cluster_id}#${vm.vmid}`, vm]));
  const nowMs = (deps.now ?? Date.now)();
  const expiry = deps.pendingExpiryMs ?? PENDING_ACTION_EXPIRY_MS;
  return {
    ...job,
    results: job.results.map((line) =>
      refreshLine(line, job.action, byKey.get(`${line.cluster_id}#${line.vmid}`), nowMs, expiry),
    ),
  };
}

/** The HTTP answer of a bulk job. */
export function toBulkResponse(job: BulkJob): BulkActionResponse {
  const counts = countOutcomes(job.results);
  return {
    ok: true,
    bulk_id: job.bulk_id,
    action: job.action,
    class_id: job.class_id,
    created_at: new Date(job.created_at).toISOString(),
    finished: counts.pending === 0,
    counts,
    results: job.results,
  };
}

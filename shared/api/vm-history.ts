import { callerSeesVm } from '#shared/api/visibility.ts';
import { HISTORY_SPAN_MS, RESOLUTION_MS, readVmHistory } from '#shared/domain/metrics-history.ts';
import { audienceOf, discloseSyncError } from '#shared/http/disclosure.ts';
import { NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import { HISTORY_RANGES, type HistoryRange, type VmHistoryResponse } from '#shared/http/schemas/history.ts';
import type { Repositories } from '#shared/store/ports.ts';

/** What {@link vmHistoryForCaller} reads. */
export interface VmHistoryDeps {
  readonly repositories: Pick<Repositories, 'inventory' | 'ownership' | 'syncState' | 'history'>;
  readonly now: () => number;
}

/**
 * A VM's history as GET /api/vms/{cluster}/{vmid}/history answers it: only for a caller who may
 * see the VM (the list's visibility rules; 404 alike for "absent" and "not yours"), read from the
 * cluster's buckets whatever node the VM ran on. The cluster's last sync error, while its sync
 * fails, says why the history may stop early (disclosed per role).
 */
export async function vmHistoryForCaller(
  deps: VmHistoryDeps,
  request: { caller: Caller; cluster: string; vmid: number; range: HistoryRange },
): Promise<VmHistoryResponse> {
  const { repositories } = deps;
  const key = { cluster_id: request.cluster, vmid: request.vmid };
  const [visible, vm] = await Promise.all([
    callerSeesVm(request.caller, key, repositories.ownership),
    repositories.inventory.getVm(key),
  ]);
  if (!visible || vm === null) throw new NotFoundError('VM not found');

  const { spanMs, resolution } = HISTORY_RANGES[request.range];
  const width = RESOLUTION_MS[resolution];
  const to = deps.now();
  // The first bucket that lies entirely inside the range, never older than the resolution keeps.
  const from = Math.ceil((to - Math.min(spanMs, HISTORY_SPAN_MS[resolution])) / width) * width;
  const [samples, state] = await Promise.all([
    readVmHistory(repositories.history, {
      cluster: request.cluster,
      vmid: request.vmid,
      from,
      to,
      resolution,
    }),
    repositories.syncState.getClusterState(request.cluster),
  ]);
  const failing = state !== null && state.consecutive_errors > 0 ? state.last_error : null;
  return {
    cluster_id: request.cluster,
    vmid: request.vmid,
    range: request.range,
    resolution_seconds: width === 60_000 ? 60 : 900,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    samples: samples.map((s) => ({
      t: new Date(s.t).toISOString(),
      cpu_avg: s.cpu_avg,
      cpu_max: s.cpu_max,
      mem_avg: s.mem_avg,
      mem_max: s.mem_max,
    })),
    sync_error: discloseSyncError(failing, audienceOf(request.caller)),
  };
}

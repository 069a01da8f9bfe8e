import { resolveActionTarget } from '#shared/actions/resolve-target.ts';
import { toApiVms } from '#shared/api/list-vms.ts';
import type { SyncRulesSettings } from '#shared/api/sync-stats.ts';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { Repositories } from '#shared/store/ports.ts';

/** What {@link readVmByVmid} reads. */
export interface VmByVmidDeps {
  readonly repositories: Pick<Repositories, 'inventory' | 'ownership' | 'syncState'>;
  readonly settings: Pick<SyncRulesSettings, 'staleAfterMs'>;
  readonly now: () => number;
}

/**
 * One VM by the original portal's bare VMID, from the table, resolved exactly as an action
 * resolves its target (the same code): among the VMs the caller may see, `cluster` when given,
 * else the caller's only VM with that VMID; 404 when none (also when it is another user's), 409
 * listing the clusters when several. The clusters an admin may mean are those the sync knows.
 */
export async function readVmByVmid(
  deps: VmByVmidDeps,
  request: { caller: Caller; vmid: number; clusterId?: string | undefined },
): Promise<ApiVm> {
  const { repositories } = deps;
  const states = await repositories.syncState.listClusterStates();
  const vm = await resolveActionTarget(
    {
      inventory: repositories.inventory,
      ownership: repositories.ownership,
      clusterIds: async () => states.map((state) => state.cluster_id),
    },
    request,
  );
  const [apiVm] = await toApiVms(
    repositories.syncState,
    [vm],
    states.filter((state) => state.cluster_id === vm.cluster_id),
    { nowMs: deps.now(), staleAfterMs: deps.settings.staleAfterMs, onlyTheirNodes: true },
  );
  if (apiVm === undefined) throw new Error('toApiVms returned no VM for one stored VM');
  return apiVm;
}

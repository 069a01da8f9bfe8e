import { resolveVisibleScope } from '#shared/api/visibility.ts';
import type { StoredVm, VmKey } from '#shared/domain/vm-record.ts';
import { ConflictError, NotFoundError } from '#shared/http/errors.ts';
import type { Caller } from '#shared/http/identity.ts';
import type { InventoryRepository, OwnershipRepository } from '#shared/store/ports.ts';

/** What resolving the target of an action reads. */
export interface ResolveTargetDeps {
  readonly inventory: Pick<InventoryRepository, 'getVms'>;
  readonly ownership: OwnershipRepository;
  /** Every cluster id the inventory may hold (admins may act on any of them). */
  readonly clusterIds: () => Promise<readonly string[]>;
}

/** The request to resolve: a bare VMID (the original portal's path) and the optional `cluster` query. */
export interface ResolveTargetRequest {
  readonly caller: Caller;
  readonly vmid: number;
  readonly clusterId?: string | undefined;
}

/**
 * The (cluster, vmid) keys a caller may act on for one VMID: the VMs the caller may see (the list's
 * visibility rules: admins every cluster; others their assignments and their taught classes' VMs,
 * suspended links excluded), narrowed to that VMID.
 */
export async function actionableKeys(
  deps: ResolveTargetDeps,
  caller: Caller,
  vmid: number,
): Promise<VmKey[]> {
  const scope = await resolveVisibleScope(caller, deps.ownership);
  if (scope.all) return (await deps.clusterIds()).map((cluster_id) => ({ cluster_id, vmid }));
  return scope.keys.filter((key) => key.vmid === vmid);
}

/**
 * Resolves the VM an action targets among the VMs the caller may act on. A VM that does not exist
 * and one that is not the caller's both give 404 (never reveal another user's VM); a VMID present
 * on several of the caller's clusters without a `cluster` query gives 409 listing the candidates.
 */
export async function resolveActionTarget(
  deps: ResolveTargetDeps,
  request: ResolveTargetRequest,
): Promise<StoredVm> {
  let keys = await actionableKeys(deps, request.caller, request.vmid);
  if (request.clusterId !== undefined) keys = keys.filter((key) => key.cluster_id === request.clusterId);
  // Consistent reads: the pending state about to be written must be based on the latest item.
  const found = keys.length === 0 ? [] : await deps.inventory.getVms(keys, { consistentRead: true });
  if (found.length === 0) throw new NotFoundError(`VM ${request.vmid} not found`);
  if (found.length > 1) {
    const candidates = found
      .map((vm) => ({ cluster_id: vm.cluster_id, vmid: vm.vmid }))
      .sort((a, b) => a.cluster_id.localeCompare(b.cluster_id));
    throw new ConflictError(
      `VM ${request.vmid} exists on several clusters: add ?cluster=<cluster_id> (${candidates
        .map((c) => c.cluster_id)
        .join(', ')})`,
      candidates,
    );
  }
  const [vm] = found;
  if (vm === undefined) throw new NotFoundError(`VM ${request.vmid} not found`);
  return vm;
}

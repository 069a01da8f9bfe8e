import type { InventoryRepository, OwnershipRepository, SyncStateRepository } from './ports.ts';

/**
 * The read cache's versions kept by the writers themselves (README "Read cache"): every write of a
 * user action to a VM item (its pending state) gives the VM's cluster a new `inventory_version`, and
 * every ownership write gives the ownership data a new version, always after the write (a reader
 * must never keep older data under a newer version). The sync's own inventory writes (listing
 * changes, details, creations, removals) are versioned by the sync, in the cluster-state update that
 * ends its pass (or per detail batch of a full sync), so a quick pass pays no extra write for them.
 */

/** Ownership methods that write. A new write method must be listed here (a test checks it). */
export const OWNERSHIP_WRITE_METHODS = [
  'putAssignment',
  'putAssignments',
  'deleteAssignment',
  'suspendVm',
  'putClass',
  'deleteClass',
  'addClassMember',
  'removeClassMember',
  'assignClassVm',
  'removeClassVm',
] as const satisfies readonly (keyof OwnershipRepository)[];

/** Ownership methods that only read. */
export const OWNERSHIP_READ_METHODS = [
  'listAssignmentsOfUser',
  'getAssignments',
  'listOwnersOfVm',
  'listAllAssignments',
  'getClass',
  'listClasses',
  'listClassesOfUser',
  'listClassesOfVm',
] as const satisfies readonly (keyof OwnershipRepository)[];

/** Runs a write, then the bump: also when the write failed, as part of it may have landed. */
async function thenBump<T>(write: () => Promise<T>, bump: (result: T | undefined) => Promise<unknown>) {
  let result: T | undefined;
  try {
    result = await write();
    return result;
  } finally {
    await bump(result);
  }
}

/** Whether a write's result says it wrote nothing (`false`, or a report of 0 writes); undefined = it failed. */
function wroteNothing(result: unknown): boolean {
  if (result === false) return true;
  return typeof result === 'object' && result !== null && 'writes' in result && result.writes === 0;
}

/** The inventory repository whose pending-state writes (user actions) bump the cluster's version. */
export function versionedInventory(
  inventory: InventoryRepository,
  syncState: Pick<SyncStateRepository, 'bumpInventoryVersion'>,
): InventoryRepository {
  const bump = (clusterId: string) => syncState.bumpInventoryVersion(clusterId);
  return {
    listClusterVms: (clusterId, options) => inventory.listClusterVms(clusterId, options),
    listAllClusterVms: (clusterId, options) => inventory.listAllClusterVms(clusterId, options),
    getVm: (key, options) => inventory.getVm(key, options),
    getVms: (keys, options) => inventory.getVms(keys, options),
    listErrorVms: (clusterId) => inventory.listErrorVms(clusterId),
    // Versioned by the sync (see above).
    putNew: (items) => inventory.putNew(items),
    batchPut: (items) => inventory.batchPut(items),
    applyChanges: (changes) => inventory.applyChanges(changes),
    deleteVms: (removals) => inventory.deleteVms(removals),
    setPending: (request) =>
      thenBump(
        () => inventory.setPending(request),
        async (result) => {
          if (result === undefined || result.outcome === 'set') await bump(request.key.cluster_id);
        },
      ),
    setPendingUpid: (key, since, upid) =>
      thenBump(
        () => inventory.setPendingUpid(key, since, upid),
        async (written) => {
          if (written !== false) await bump(key.cluster_id);
        },
      ),
    clearPending: (key, since, options) =>
      thenBump(
        () => inventory.clearPending(key, since, options),
        async (written) => {
          if (written !== false) await bump(key.cluster_id);
        },
      ),
    // the idle rule's warning and "keep running" change what the VM shows (`idle_shutdown_at`)
    setIdleWarning: (key, shutdownAt) =>
      thenBump(
        () => inventory.setIdleWarning(key, shutdownAt),
        async (written) => {
          if (written !== false) await bump(key.cluster_id);
        },
      ),
    resetIdleClock: (key, at) =>
      thenBump(
        () => inventory.resetIdleClock(key, at),
        async (written) => {
          if (written !== false) await bump(key.cluster_id);
        },
      ),
  };
}

/** The ownership repository whose every write bumps the ownership version. */
export function versionedOwnership(
  ownership: OwnershipRepository,
  syncState: Pick<SyncStateRepository, 'bumpOwnershipVersion'>,
): OwnershipRepository {
  const wrapped: Record<string, unknown> = {};
  // Bumps are coalesced: a write that finds a bump running waits for one that starts after it (one
  // for all such writes), so the version still moves after every write, and a large import's
  // writes make a few bumps of the one version item, not one each.
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const bump = syncState.bumpOwnershipVersion().then(() => undefined);
    running = bump.finally(() => {
      if (running === bumpRef) running = null;
    });
    const bumpRef = running;
    // its failure reaches the writes awaiting `bump`; this chain only clears the slot
    running.catch(() => undefined);
    return bump;
  };
  const bumpAfterWrite = (): Promise<void> => {
    if (next !== null) return next;
    if (running === null) return start();
    next = running.then(
      () => {
        next = null;
        return start();
      },
      () => {
        next = null;
        return start();
      },
    );
    return next;
  };
  for (const method of OWNERSHIP_READ_METHODS) {
    wrapped[method] = (...args: unknown[]) =>
      (ownership[method] as (...a: unknown[]) => Promise<unknown>).apply(ownership, args);
  }
  for (const method of OWNERSHIP_WRITE_METHODS) {
    wrapped[method] = (...args: unknown[]) =>
      thenBump(
        () => (ownership[method] as (...a: unknown[]) => Promise<unknown>).apply(ownership, args),
        async (result) => {
          // A write that wrote nothing (a removed guest nobody owned) leaves the version alone.
          if (wroteNothing(result)) return;
          await bumpAfterWrite();
        },
      );
  }
  return wrapped as unknown as OwnershipRepository;
}

/** Every ownership method is listed as a read or a write (a new one fails the typecheck here). */
type UnlistedOwnershipMethod = Exclude<
  keyof OwnershipRepository,
  (typeof OWNERSHIP_WRITE_METHODS)[number] | (typeof OWNERSHIP_READ_METHODS)[number]
>;
export const OWNERSHIP_METHODS_LISTED: [UnlistedOwnershipMethod] extends [never] ? true : never = true;

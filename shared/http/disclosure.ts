import type { ApiVm } from '#shared/domain/vm-record.ts';
import type { Caller } from '#shared/http/identity.ts';

/**
 * What each role may see of an internal failure, defined once. Admins get the detail (node names,
 * Proxmox paths, addresses, Proxmox's own messages); everyone else gets a short generic reason and
 * the request id, which an admin can look up in the logs and the audit trail. Used by the error
 * mapper (`toErrorResponse`) for error answers and by every route that returns VMs.
 */

/** Who an answer is for: `admin` sees failure details, `user` does not. */
export type Audience = 'admin' | 'user';

/** The audience of a caller (public routes have no caller: `user`). */
export function audienceOf(caller: Caller | null | undefined): Audience {
  return caller?.roles.admin === true ? 'admin' : 'user';
}

/** The text a non-admin sees in place of a VM's `sync_error` (the field stays, so clients keep working). */
export const GENERIC_SYNC_ERROR = 'The last sync could not read this VM; an administrator can see why.';

/** A VM's `sync_error` as the audience may see it. */
export function discloseSyncError(syncError: string | null, audience: Audience): string | null {
  if (syncError === null || audience === 'admin') return syncError;
  return GENERIC_SYNC_ERROR;
}

/** A VM in the API shape as the caller may see it. */
export function discloseVm<T extends Pick<ApiVm, 'sync_error'>>(vm: T, caller: Caller | null | undefined): T {
  const audience = audienceOf(caller);
  if (audience === 'admin' || vm.sync_error === null) return vm;
  return { ...vm, sync_error: discloseSyncError(vm.sync_error, audience) };
}

import { PENDING_ACTION_EXPIRY_MS } from './to-api-vm.ts';
import type { PendingAction, StoredVm, VmStatus } from './vm-record.ts';

/** The status a guest has once a power action's task succeeded. */
export function expectedStatusAfter(action: PendingAction): VmStatus {
  return action === 'start' || action === 'reboot' ? 'running' : 'stopped';
}

/**
 * True when a user's pending action can be cleared by a sync observation: the observation began
 * after the action was recorded and sees the status the action aimed for, or the action expired.
 * An observation that began before the action never settles it (it may predate the task).
 */
export function isPendingActionSettled(
  vm: Pick<StoredVm, 'pending_action' | 'pending_since'>,
  observedStatus: VmStatus,
  observedAt: number,
  expiryMs: number = PENDING_ACTION_EXPIRY_MS,
): boolean {
  const { pending_action: action, pending_since: since } = vm;
  if (action === undefined || since === undefined) return false;
  if (observedAt <= since) return false;
  if (observedAt - since > expiryMs) return true;
  return observedStatus === expectedStatusAfter(action);
}

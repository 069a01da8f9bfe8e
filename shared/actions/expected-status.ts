import type { StoredVm, VmStatus } from '#shared/domain/vm-record.ts';

export { expectedStatusAfter } from '#shared/domain/pending-action.ts';

/**
 * True when the HA stack manages the guest: its power task only records an HA request and finishes
 * at once, so the new state must be read from the guest's status, not concluded from the task.
 */
export function isHaManaged(vm: Pick<StoredVm, 'hastate'>): boolean {
  return vm.hastate !== null && vm.hastate !== '' && vm.hastate !== 'ignored';
}

/**
 * Attributes written with the confirmed status: a started or rebooted guest booted at
 * `confirmedAt` (the sync corrects it within its boot-time tolerance), a stopped one has no boot.
 */
export function confirmedAttributes(
  status: VmStatus,
  confirmedAt: number,
): { status: VmStatus; boot_time: number | null } {
  return { status, boot_time: status === 'running' ? confirmedAt : null };
}

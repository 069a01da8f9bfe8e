import type { StoredVm, StoredVmAttributes, VmStatus } from '#shared/domain/vm-record.ts';

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
 * `confirmedAt` (uptime counts from it at once; the sync corrects it within its boot-time
 * tolerance and reads its IP in the next quick passes), a guest that is not running has no boot and
 * no reachable RDP/SSH.
 */
export function confirmedAttributes(
  status: VmStatus,
  confirmedAt: number,
): Pick<StoredVmAttributes, 'status' | 'boot_time'> &
  Partial<Pick<StoredVmAttributes, 'rdp_available' | 'ssh_available'>> {
  if (status === 'running') return { status, boot_time: confirmedAt };
  return { status, boot_time: null, rdp_available: false, ssh_available: false };
}

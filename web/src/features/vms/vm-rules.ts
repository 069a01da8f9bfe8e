import type { ApiVm, PendingAction } from '#shared/domain/vm-record.ts';

/**
 * What a person may do with a VM in the portal, and why not: power actions by status, and the
 * connect options (RDP file, SSH command). Pure, so each rule is pinned by a test.
 */

/** An option that is available, or unavailable with the reason shown next to it. */
export type Availability = { readonly enabled: true } | { readonly enabled: false; readonly reason: string };

const yes: Availability = { enabled: true };
const no = (reason: string): Availability => ({ enabled: false, reason });

/** Power actions in the order the buttons show them. */
export const POWER_ACTIONS: readonly PendingAction[] = ['start', 'shutdown', 'reboot', 'stop'];

/** Button labels, and what the button says while the action is pending. */
export const ACTION_LABELS: Readonly<Record<PendingAction, { label: string; pending: string }>> = {
  start: { label: 'Start', pending: 'Starting…' },
  shutdown: { label: 'Shut down', pending: 'Shutting down…' },
  reboot: { label: 'Reboot', pending: 'Rebooting…' },
  stop: { label: 'Force stop', pending: 'Stopping…' },
};

/**
 * Proxmox's `stop` is a hard power-off (`shutdown` is the graceful one the main button offers):
 * the portal asks before it, in these words.
 */
export function forceStopQuestion(name: string): string {
  return `Force stop ${name}? This cuts the power like pulling the plug: unsaved work in the guest is lost. Use "Shut down" for a clean shutdown.`;
}

/** Whether a power action makes sense for the VM's current status. */
export function powerActionAvailability(vm: ApiVm, action: PendingAction): Availability {
  if (vm.is_template) return no('templates cannot be powered on or off');
  if (vm.pending_action !== null)
    return no(`${ACTION_LABELS[vm.pending_action].pending.toLowerCase()} already`);
  if (vm.lock !== null) return no(`locked (${vm.lock})`);
  if (action === 'start') return vm.status === 'running' ? no('already running') : yes;
  return vm.status === 'running' || vm.status === 'paused' ? yes : no('not running');
}

/** RDP: a Windows guest with an IP that answers on RDP. */
export function rdpAvailability(vm: ApiVm): Availability {
  if (vm.category !== 'windows') return no('RDP is offered for Windows guests');
  if (vm.status !== 'running') return no('the VM is not running');
  if (vm.ip === null) return no('no IP address known yet');
  if (!vm.rdp_available) return no('RDP does not answer');
  return yes;
}

/** SSH: a guest with an IP that answers on SSH. */
export function sshAvailability(vm: ApiVm): Availability {
  if (vm.status !== 'running') return no('the VM is not running');
  if (vm.ip === null) return no('no IP address known yet');
  if (!vm.ssh_available) return no('SSH does not answer');
  return yes;
}

/** The `ssh` command copied for a guest. */
export function sshCommand(vm: Pick<ApiVm, 'ip'>, username: string): string {
  return `ssh ${username}@${vm.ip ?? ''}`;
}

/** The contents of a `.rdp` file for a guest (CRLF lines, as Windows' client writes them). */
export function rdpFile(vm: Pick<ApiVm, 'ip' | 'name'>, username: string): string {
  return [
    `full address:s:${vm.ip ?? ''}:3389`,
    `username:s:${username}`,
    'prompt for credentials:i:1',
    'screen mode id:i:2',
    'authentication level:i:2',
    '',
  ].join('\r\n');
}

/** A safe download file name for a VM's `.rdp` file. */
export function rdpFileName(vm: Pick<ApiVm, 'name' | 'vmid'>): string {
  const base = vm.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || `vm-${vm.vmid}`;
  return `${base}.rdp`;
}

/**
 * The power actions available now, split for the Actions cell: the first (start when stopped,
 * shut down when running) as its button, the rest for the "More" menu.
 */
export function splitPowerActions(vm: ApiVm): { primary: PendingAction | null; more: PendingAction[] } {
  const [primary = null, ...more] = POWER_ACTIONS.filter(
    (action) => powerActionAvailability(vm, action).enabled,
  );
  return { primary, more };
}

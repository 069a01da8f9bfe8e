import type { AgentState, StoredVm, StoredVmAttributes, VmCategory } from '#shared/domain/vm-record.ts';
import { tagsToList } from '#shared/domain/vm-record.ts';
import {
  agentEnabled,
  bootDiskBytesFromConfig,
  categoryFromOstype,
  coresFromConfig,
  type GuestInterface,
  memoryMiBFromConfig,
  nicsFromConfig,
  type StaticIp,
  selectGuestIp,
  staticIpsFromConfig,
} from '#shared/proxmox/mapping.ts';
import type { GuestConfig, GuestResource } from '#shared/proxmox/schemas.ts';
import { identityFromConfig } from './guest-identity.ts';

/**
 * Planning of the per-guest part of a full sync: which configs to read, which guests to ask for
 * their IPs, and what the answers mean for the stored item. Pure: no I/O, no clock.
 */

const MIB = 1024 * 1024;

/** Every guest's config is re-read at least this often. */
export const CONFIG_MAX_AGE_MS = 30 * 60_000;
/** A guest whose agent was absent or not running is asked again after this long. */
export const AGENT_RETRY_MS = 10 * 60_000;

/**
 * True when the listing shows a guest's config-derived details changed since they were stored:
 * name, memory, CPUs, boot disk size, tags, node or the template flag. Fields the listing omits
 * (no stats record) are not compared.
 */
export function listingDiffersFromDetails(vm: StoredVm, row: GuestResource): boolean {
  if (row.name !== undefined && row.name !== vm.name) return true;
  if (row.maxmem !== undefined && Math.round(row.maxmem / MIB) !== vm.memory) return true;
  if (row.maxcpu !== undefined && row.maxcpu > 0 && Math.round(row.maxcpu) !== vm.cores) return true;
  if (row.maxdisk !== undefined && row.maxdisk > 0 && Math.round(row.maxdisk) !== vm.disk_size) return true;
  if (row.tags !== undefined && tagsToList(row.tags).join(',') !== vm.tag_list.join(',')) return true;
  if (row.node !== vm.node) return true;
  if ((row.template ?? false) !== vm.is_template) return true;
  return false;
}

/**
 * True when a guest belongs to the rotating slice of this full sync: the fleet is split by VMID
 * into `maxAgeMs / intervalMs` slices and each interval-long time window reads one of them, so
 * every guest's config is re-read within `maxAgeMs` while full syncs run, without storing a
 * schedule (no write is needed to remember whom to read next).
 */
export function inRotationSlice(
  vmid: number,
  nowMs: number,
  options: { maxAgeMs?: number; intervalMs: number },
): boolean {
  const interval = Math.max(1, options.intervalMs);
  const passes = Math.max(1, Math.floor((options.maxAgeMs ?? CONFIG_MAX_AGE_MS) / interval));
  const window = Math.floor(nowMs / interval);
  return vmid % passes === window % passes;
}

/** Why a full sync reads a guest's config. */
export type ConfigReadReason = 'new' | 'changed' | 'ip-fallback' | 'rotation';

/**
 * Whether (and why) a full sync reads a guest's config: never read, the listing shows a change
 * (`before` is the item as stored before this sync's listing was applied), a stopped guest still
 * shows a live IP, or the guest is in this window's rotating slice — unless the previous full sync
 * read its config (as new, or for a run that continued an unfinished one): an unchanged guest is
 * never read twice in a row. A guest whose turn was skipped is read once its config is one interval
 * short of the rotation window, so every config stays younger than the window.
 */
export function configReadReason(
  before: StoredVm | undefined,
  current: StoredVm,
  row: GuestResource,
  nowMs: number,
  intervalMs: number,
): ConfigReadReason | null {
  if (!before || current.config_checked_at === null) return 'new';
  if (listingDiffersFromDetails(before, row)) return 'changed';
  if (needsIpFallback(current)) return 'ip-fallback';
  const age = nowMs - current.config_checked_at;
  // A guest whose rotation turn was skipped (below) would wait a whole rotation more: read it when
  // the next turn would be too late, so no config is ever older than the rotation window.
  if (age >= CONFIG_MAX_AGE_MS - intervalMs) return 'rotation';
  // Read by the previous full sync (one interval ago, give or take the schedule's jitter).
  const readByLastRun = age < 1.5 * intervalMs;
  if (!readByLastRun && inRotationSlice(current.vmid, nowMs, { intervalMs })) return 'rotation';
  return null;
}

/** What a guest's config tells the inventory. */
export interface ConfigDetails {
  set: Partial<StoredVmAttributes>;
  agentEnabled: boolean;
  firstMac: string | null;
  staticIps: StaticIp[];
}

/** Maps a guest config to the stored details (the listing fills what the config leaves open). */
export function detailsFromConfig(
  type: 'qemu' | 'lxc',
  config: GuestConfig,
  row: GuestResource,
): ConfigDetails {
  const cores = coresFromConfig(type, config) ?? (row.maxcpu === undefined ? 0 : Math.round(row.maxcpu));
  const disk = bootDiskBytesFromConfig(type, config) ?? (row.maxdisk === undefined ? 0 : row.maxdisk);
  const nics = nicsFromConfig(type, config);
  const firstMac = nics[0]?.mac ?? null;
  // One mapping for both types: an `unmanaged` container (no distribution Proxmox knows) is `other`.
  const category: VmCategory = categoryFromOstype(type, config.ostype);
  const name = config.name ?? config.hostname ?? row.name ?? `${type}-${row.vmid}`;
  return {
    set: {
      name,
      cores,
      memory: memoryMiBFromConfig(type, config),
      disk_size: Math.round(disk),
      category,
      mac: firstMac,
      tag_list: tagsToList(config.tags ?? row.tags),
      is_template: config.template ?? row.template ?? false,
      lock: config.lock ?? row.lock ?? null,
      ...identityFromConfig(type, config),
    },
    agentEnabled: type === 'qemu' && agentEnabled(config.agent),
    firstMac,
    staticIps: staticIpsFromConfig(type, config),
  };
}

/** Which live source to ask for a guest's IP in this pass, if any. */
export type IpSource = 'agent' | 'lxc' | null;

/**
 * Decides whether to ask a guest for its live IP now: running guests only; QEMU only when the
 * agent is enabled (`agentEnabledNow` from this pass's config, else the stored agent state), with
 * the negative cache respected unless the guest booted since the last check; containers through
 * `/interfaces`. Asked when the config was just read (so at least every 30 minutes through the
 * rotation), the guest booted since the last check, or no IP is known.
 */
export function ipSourceFor(
  vm: StoredVm,
  nowMs: number,
  configRead: boolean,
  agentEnabledNow: boolean | undefined,
  afterBoot = false,
): IpSource {
  if (vm.status !== 'running') return null;
  const checkedAt = vm.ip_checked_at;
  const bootedSinceCheck =
    afterBoot || checkedAt === null || (vm.boot_time !== null && vm.boot_time > checkedAt);
  const due = configRead || bootedSinceCheck || vm.ip === null;
  if (!due) return null;
  if (vm.type === 'lxc') return 'lxc';
  const enabled = agentEnabledNow ?? vm.agent_state !== 'disabled';
  if (!enabled) return null;
  const cached =
    vm.agent_state === 'absent' || vm.agent_state === 'not_running' || vm.agent_state === 'error';
  if (cached && !bootedSinceCheck && vm.agent_retry_at !== null && nowMs < vm.agent_retry_at) return null;
  return 'agent';
}

/** Outcome of a live IP lookup, as the engine classifies it. */
export type LiveIpOutcome =
  | { kind: 'ok'; interfaces: GuestInterface[] }
  | { kind: 'agent-unavailable'; state: Extract<AgentState, 'absent' | 'not_running'> }
  | { kind: 'error'; message: string };

/**
 * The IP attributes after a pass: the live interfaces when there are any, else the config's
 * static IPs when the config was read, else the stored IP is kept. Also the agent's negative cache.
 */
export function ipAttributes(input: {
  vm: StoredVm;
  nowMs: number;
  simulated: boolean;
  config: ConfigDetails | null;
  live: LiveIpOutcome | null;
}): Partial<StoredVmAttributes> {
  const { vm, nowMs, config, live } = input;
  const firstMac = config?.firstMac ?? vm.mac;
  const set: Partial<StoredVmAttributes> = {};
  if (config && !config.agentEnabled && vm.type === 'qemu') {
    set.agent_state = 'disabled';
    set.agent_retry_at = null;
  }
  let liveIp: string | null = null;
  if (live?.kind === 'ok') {
    liveIp = selectGuestIp({
      interfaces: live.interfaces,
      firstMac,
      staticIps: [],
      simulated: input.simulated,
    });
    // `ok` marks the IP as live (agent or container interfaces): it is re-derived once the guest stops.
    set.agent_state = 'ok';
    set.agent_retry_at = null;
  } else if (live?.kind === 'agent-unavailable') {
    set.agent_state = live.state;
    set.agent_retry_at = nowMs + AGENT_RETRY_MS;
  } else if (live?.kind === 'error' && vm.type === 'qemu') {
    set.agent_state = 'error';
    set.agent_retry_at = nowMs + AGENT_RETRY_MS;
  }
  if (liveIp !== null) {
    set.ip = liveIp;
  } else if (config) {
    set.ip = selectGuestIp({
      interfaces: [],
      firstMac,
      staticIps: config.staticIps,
      simulated: input.simulated,
    });
  }
  if (config && vm.status !== 'running' && vm.agent_state === 'ok' && set.agent_state === undefined) {
    // The live IP is gone with the guest; the next boot asks again (booted since the check).
    set.agent_state = 'not_running';
    set.agent_retry_at = null;
  }
  if (live !== null || config !== null) set.ip_checked_at = nowMs;
  return set;
}

/**
 * True when a guest that is not running still carries an IP learnt from live data: its config is
 * re-read so that the static fallback (or nothing) replaces it.
 */
export function needsIpFallback(vm: StoredVm): boolean {
  return vm.status !== 'running' && vm.ip !== null && vm.agent_state === 'ok';
}

/** How long after a boot the quick passes keep asking a guest for its IP (the agent needs tens of seconds). */
export const AFTER_BOOT_IP_WINDOW_MS = 2 * 60_000;

/** The shortest pause between two after-boot IP reads of a guest. */
export const AFTER_BOOT_RETRY_MIN_MS = 5_000;
/** The longest pause between two after-boot IP reads of a guest. */
export const AFTER_BOOT_RETRY_MAX_MS = 40_000;

/**
 * The pause after an after-boot IP read that found no address, made `sinceBootMs` after the boot:
 * as long as the guest had been up, within 5–40 s. Reads thus come about 5, 10, 20, 40, 80 and
 * 120 s after the boot (pauses 5, 10, 20, 40, 40 s): a doubling backoff that needs no attempt
 * counter, only the boot time and the last read, which the item already holds.
 */
export function afterBootRetryDelayMs(sinceBootMs: number): number {
  return Math.min(AFTER_BOOT_RETRY_MAX_MS, Math.max(AFTER_BOOT_RETRY_MIN_MS, sinceBootMs));
}

/**
 * True when a quick pass should ask a guest that booted less than {@link AFTER_BOOT_IP_WINDOW_MS}
 * ago for its address: it has no live IP read since its boot, and its last read since the boot
 * (if any) is older than the backoff ({@link afterBootRetryDelayMs}). A pass that comes earlier
 * leaves the guest alone, whatever the quick interval (refreshes are quick passes too); after the
 * window the full sync takes over.
 */
export function needsIpAfterBoot(vm: StoredVm, nowMs: number): boolean {
  if (vm.status !== 'running' || vm.boot_time === null || vm.details_pending) return false;
  if (nowMs - vm.boot_time > AFTER_BOOT_IP_WINDOW_MS) return false;
  if (vm.type === 'qemu' && vm.agent_state === 'disabled') return false;
  const lastRead = vm.ip_checked_at !== null && vm.ip_checked_at >= vm.boot_time ? vm.ip_checked_at : null;
  if (lastRead === null) return true;
  if (vm.agent_state === 'ok' && vm.ip !== null) return false;
  return nowMs - lastRead >= afterBootRetryDelayMs(lastRead - vm.boot_time);
}

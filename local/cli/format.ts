import type { ApiVm } from '#shared/domain/vm-record.ts';
import type { ListAuditResponse } from '#shared/http/schemas/audit.ts';
import type { SyncHealthResponse, SyncStatsResponse } from '#shared/http/schemas/sync.ts';

/** Plain-text renderings of the CLI's answers (pure). */

/** Left-aligned columns; every row has the header's length. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `[########------------] 2/5 clusters` */
export function formatProgressBar(done: number, total: number, label: string, width = 30): string {
  const ratio = total <= 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label}`;
}

const time = (seconds: number | null): string =>
  seconds === null ? 'never' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** The statistics as a summary and a per-cluster table. */
export function formatStats(stats: SyncStatsResponse): string {
  const summary = [
    `VMs: ${stats.total_vms} (${stats.fresh_vms} fresh, ${stats.running_vms} running, ${stats.error_vms} with sync errors)`,
    `last full sync: ${time(stats.last_full_sync)}   last quick sync: ${time(stats.last_quick_sync)}`,
    `quick sync running: ${stats.is_running ? 'yes' : `no (${stats.not_running_reason ?? 'unknown'})`}   consecutive errors (worst cluster): ${stats.consecutive_errors}`,
  ];
  const table = formatTable(
    ['CLUSTER', 'NAME', 'VMS', 'FRESH', 'RUNNING', 'ERRORS', 'LAST FULL', 'LAST QUICK', 'FAILING'],
    stats.clusters.map((c) => [
      c.cluster_id,
      c.cluster_name,
      String(c.total_vms),
      String(c.fresh_vms),
      String(c.running_vms),
      String(c.error_vms),
      time(c.last_full_sync),
      time(c.last_quick_sync),
      String(c.consecutive_errors),
    ]),
  );
  const errors = formatClusterErrors(stats);
  return `${summary.join('\n')}\n\n${table}${errors === '' ? '' : `\n\n${errors}`}`;
}

/** Each failing cluster's last error and backoff (admin statistics only), or '' when none. */
export function formatClusterErrors(stats: SyncStatsResponse): string {
  const lines: string[] = [];
  for (const c of stats.clusters) {
    if (c.last_error === undefined || (c.last_error === null && c.consecutive_errors === 0)) continue;
    const backoff =
      c.backoff_until === undefined || c.backoff_until === null
        ? ''
        : `, backing off until ${time(c.backoff_until)}`;
    lines.push(`${c.cluster_id}: ${c.consecutive_errors} consecutive errors${backoff}`);
    if (c.last_error !== null) lines.push(`  last error: ${c.last_error}`);
  }
  return lines.join('\n');
}

/** Health as one verdict line and the issues, then (with admin statistics) each cluster's last error. */
export function formatHealth(health: SyncHealthResponse, stats?: SyncStatsResponse): string {
  const lines = [
    `${health.healthy ? 'healthy' : 'UNHEALTHY'}: ${health.stats.clusters} clusters, ${health.stats.total_vms} VMs (${health.stats.fresh_vms} fresh, ${health.stats.error_vms} with sync errors)`,
  ];
  for (const issue of health.issues) lines.push(`  - ${issue}`);
  if (stats !== undefined) {
    if (!stats.is_running) lines.push(`  - sync not running: ${stats.not_running_reason ?? 'unknown'}`);
    const errors = formatClusterErrors(stats);
    if (errors !== '') lines.push('', errors);
  }
  return lines.join('\n');
}

/** VMs as a table. */
export function formatVms(vms: readonly ApiVm[]): string {
  if (vms.length === 0) return 'no VMs';
  return formatTable(
    ['CLUSTER', 'VMID', 'NAME', 'NODE', 'STATUS', 'IP', 'STALE', 'LAST STATUS CHECK', 'SYNC ERROR'],
    vms.map((vm) => [
      vm.cluster_id,
      String(vm.vmid),
      vm.name,
      vm.node,
      vm.pending_action ? `${vm.status} (${vm.pending_action} pending)` : vm.status,
      vm.ip ?? '-',
      vm.stale ? 'stale' : 'fresh',
      vm.last_status_check ?? 'never',
      vm.sync_error ?? '',
    ]),
  );
}

/** Audit entries as a table, newest first. */
export function formatAudit(entries: ListAuditResponse['entries']): string {
  return formatTable(
    ['TIME', 'USER', 'ACTION', 'TARGET', 'RESULT', 'REQUEST'],
    entries.map((entry) => [
      entry.at,
      entry.actor,
      entry.action,
      Object.entries(entry.target)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' '),
      `${entry.result} ${entry.status}${entry.error_code === null ? '' : ` ${entry.error_code}`}`,
      entry.request_id,
    ]),
  );
}

import type { ClusterState } from '#shared/domain/sync-state.ts';
import type { LocalExecution, LocalRunnerStatus } from './sync-runner.ts';

/**
 * The live status line of `npm start`: last full and quick sync, guest counts and errors, in one
 * line (refreshed in place on a terminal, printed as plain lines otherwise). Pure.
 */

/** What one status line is made of. */
export interface StatusLineInput {
  readonly runner: LocalRunnerStatus;
  readonly clusters: readonly ClusterState[];
  readonly nowMs: number;
  /** alerts raised so far, oldest first: the newest is shown */
  readonly alerts?: readonly { readonly at: number; readonly subject: string }[];
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function describeRun(label: string, runner: LocalRunnerStatus, which: 'lastFull' | 'lastQuick'): string {
  const mode = which === 'lastFull' ? 'full' : 'quick';
  const running = runner.running.filter((r) => r.mode === mode);
  // A running execution may already hold the newest result.
  const candidates = [
    ...running.filter((r) => r.resultAt !== null),
    ...(runner[which] === null ? [] : [runner[which]]),
  ];
  const timeOf = (e: LocalExecution) => e.resultAt ?? e.finishedAt ?? e.startedAt;
  const last = candidates.sort((a, b) => timeOf(b) - timeOf(a))[0];
  const busy = running.length > 0 ? ' (running)' : '';
  if (last === undefined) return `${label} ${running.length > 0 ? 'running…' : 'never'}`;
  const outcome =
    last.error !== null
      ? 'FAILED'
      : last.result === null
        ? 'done'
        : `${last.result.ok}/${last.result.clusters} ok`;
  return `${label} ${clock(timeOf(last))} ${outcome}${busy}`;
}

/** Formats the status line (UTC times). */
export function formatStatusLine(input: StatusLineInput): string {
  const total = input.clusters.reduce((sum, c) => sum + c.counts.total, 0);
  const running = input.clusters.reduce((sum, c) => sum + c.counts.running, 0);
  const vmErrors = input.clusters.reduce((sum, c) => sum + c.counts.error, 0);
  const failing = input.clusters.filter((c) => c.consecutive_errors > 0);
  const lastAlert = input.alerts?.at(-1);
  // The reasons go on their own lines (formatFailureReasons): a live line would cut them.
  const errors =
    failing.length === 0
      ? 'no cluster errors'
      : failing.map((c) => `${c.cluster_id} failing (×${c.consecutive_errors})`).join(', ');
  return [
    `[${clock(input.nowMs)}]`,
    describeRun('full', input.runner, 'lastFull'),
    '·',
    describeRun('quick', input.runner, 'lastQuick'),
    '·',
    `${total} guests (${running} running, ${vmErrors} with errors) on ${input.clusters.length} cluster${input.clusters.length === 1 ? '' : 's'}`,
    '·',
    errors,
    ...(lastAlert === undefined ? [] : ['·', `ALERT ${clock(lastAlert.at)} ${lastAlert.subject}`]),
  ].join(' ');
}

/** One line per failing cluster with its whole last error, e.g. `sim-2 failing: connection refused`. Pure. */
export function formatFailureReasons(clusters: readonly ClusterState[]): string[] {
  return clusters
    .filter((c) => c.consecutive_errors > 0)
    .map((c) => `${c.cluster_id} failing: ${c.last_error ?? 'no reason recorded'}`);
}

/**
 * Shortens `line` to `width` characters at a word boundary (ending in `…`), never inside a word.
 * Pure.
 */
export function fitToWidth(line: string, width: number): string {
  if (line.length <= width) return line;
  const room = line.slice(0, Math.max(0, width - 1));
  const cut = room.lastIndexOf(' ');
  return `${(cut > 0 ? room.slice(0, cut) : room).trimEnd()}…`;
}

import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import type { HistoryRange, VmHistorySample } from '#shared/http/schemas/history.ts';
import { describeError } from '../../lib/api-client.ts';
import { HISTORY_RANGE_LABELS, useVmHistory } from './vm-history-api.ts';

/**
 * A VM's CPU and memory history: a button (in the VM's row) opens a dialog with a chart of both
 * series over the last hour, 24 hours or 14 days, and their average and peak in words.
 */

const WIDTH = 480;
const HEIGHT = 120;

/** The polylines of one series, broken where buckets are missing (the VM was off, or not observed). */
export function seriesPaths(
  samples: readonly VmHistorySample[],
  value: (s: VmHistorySample) => number,
  from: number,
  to: number,
  resolutionMs: number,
): string[] {
  const span = Math.max(1, to - from);
  const x = (t: number) => (((t - from) / span) * WIDTH).toFixed(1);
  const y = (v: number) => (HEIGHT - (Math.min(100, Math.max(0, v)) / 100) * HEIGHT).toFixed(1);
  const runs: VmHistorySample[][] = [];
  let last: number | null = null;
  for (const s of samples) {
    const t = Date.parse(s.t);
    if (last === null || t - last > resolutionMs) runs.push([]);
    runs.at(-1)?.push(s);
    last = t;
  }
  return runs.map((run) => {
    const [only] = run;
    // A lone bucket shows as a flat line across its width (a zero-length line would not show).
    if (run.length === 1 && only !== undefined) {
      const t = Date.parse(only.t);
      return `${x(t)},${y(value(only))} ${x(t + resolutionMs)},${y(value(only))}`;
    }
    return run.map((s) => `${x(Date.parse(s.t))},${y(value(s))}`).join(' ');
  });
}

/** Average of the averages and the highest maximum of a series (null without samples). */
export function summarizeSeries(
  samples: readonly VmHistorySample[],
  avg: (s: VmHistorySample) => number,
  max: (s: VmHistorySample) => number,
): { avg: number; peak: number } | null {
  if (samples.length === 0) return null;
  const total = samples.reduce((sum, s) => sum + avg(s), 0);
  return { avg: total / samples.length, peak: Math.max(...samples.map(max)) };
}

function HistoryChart({
  cluster,
  vmid,
  name,
  range,
}: {
  cluster: string;
  vmid: number;
  name: string;
  range: HistoryRange;
}) {
  const query = useVmHistory(cluster, vmid, range);
  if (query.isPending) return <p className="muted">Loading the history…</p>;
  if (query.isError) {
    return <p role="alert">Could not load the history. {describeError(query.error)}</p>;
  }
  const { samples, from, to, resolution_seconds: resolution, sync_error: syncError } = query.data;
  const cpu = summarizeSeries(
    samples,
    (s) => s.cpu_avg,
    (s) => s.cpu_max,
  );
  const mem = summarizeSeries(
    samples,
    (s) => s.mem_avg,
    (s) => s.mem_max,
  );
  const window = HISTORY_RANGE_LABELS[range].toLowerCase();
  if (cpu === null || mem === null) {
    return (
      <p className="muted">
        No history for {window}: the VM was not running, or has not been observed since.
        {syncError === null ? null : ` The cluster's sync is failing: ${syncError}`}
      </p>
    );
  }
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  const step = resolution * 1000;
  const summary = `CPU average ${cpu.avg.toFixed(1)} %, peak ${cpu.peak.toFixed(1)} %; memory average ${mem.avg.toFixed(1)} %, peak ${mem.peak.toFixed(1)} %`;
  return (
    <figure className="history-figure">
      <svg
        role="img"
        aria-label={`CPU and memory use of ${name}, ${window}: ${summary}`}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="history-chart"
        preserveAspectRatio="none"
      >
        <line x1="0" x2={WIDTH} y1={HEIGHT / 2} y2={HEIGHT / 2} className="history-grid" />
        {seriesPaths(samples, (s) => s.mem_avg, fromMs, toMs, step).map((points) => (
          <polyline key={`mem-${points}`} points={points} className="history-line history-mem" />
        ))}
        {seriesPaths(samples, (s) => s.cpu_max, fromMs, toMs, step).map((points) => (
          <polyline key={`cpumax-${points}`} points={points} className="history-line history-cpu-max" />
        ))}
        {seriesPaths(samples, (s) => s.cpu_avg, fromMs, toMs, step).map((points) => (
          <polyline key={`cpu-${points}`} points={points} className="history-line history-cpu" />
        ))}
      </svg>
      <figcaption>
        <span className="history-key history-key-cpu">CPU</span> average {cpu.avg.toFixed(1)} %, peak{' '}
        {cpu.peak.toFixed(1)} % · <span className="history-key history-key-mem">Memory</span> average{' '}
        {mem.avg.toFixed(1)} %, peak {mem.peak.toFixed(1)} % ({samples.length} ×{' '}
        {resolution === 60 ? '1 minute' : '15 minutes'}, 0–100 %)
        {syncError === null ? null : (
          <span className="error-text"> The cluster's sync is failing: {syncError}</span>
        )}
      </figcaption>
    </figure>
  );
}

/** The dialog with the range switch and the chart. */
export function VmHistoryDialog({
  vm,
  onClose,
}: {
  vm: Pick<ApiVm, 'cluster_id' | 'vmid' | 'name'>;
  onClose: () => void;
}) {
  const [range, setRange] = useState<HistoryRange>('1h');
  const titleId = useId();
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeRef.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="history-backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="history-dialog">
        <h2 id={titleId}>History of {vm.name}</h2>
        <fieldset className="history-ranges">
          <legend>Range</legend>
          {(Object.keys(HISTORY_RANGE_LABELS) as HistoryRange[]).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={`${titleId}-range`}
                value={value}
                checked={range === value}
                onChange={() => setRange(value)}
              />
              {HISTORY_RANGE_LABELS[value]}
            </label>
          ))}
        </fieldset>
        <HistoryChart cluster={vm.cluster_id} vmid={vm.vmid} name={vm.name} range={range} />
        <button ref={closeRef} type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

/** The button that opens a VM's history (its label is what the cell shows, e.g. the CPU use). */
export function VmHistoryButton({
  vm,
  children,
}: {
  vm: Pick<ApiVm, 'cluster_id' | 'vmid' | 'name'>;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="link-button"
        aria-label={`CPU and memory history of ${vm.name}`}
        onClick={() => setOpen(true)}
      >
        {children}
      </button>
      {/* On the body: a row of the virtualized grid is transformed, which would move a fixed overlay. */}
      {open ? createPortal(<VmHistoryDialog vm={vm} onClose={() => setOpen(false)} />, document.body) : null}
    </>
  );
}

import { type CSSProperties, memo, type ReactNode, useState } from 'react';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { TimeAgo } from '../../components/time-ago.tsx';
import { formatUptime } from '../../lib/format.ts';
import { PowerActions } from './power-actions.tsx';
import { VmHistoryButton } from './vm-history.tsx';
import {
  ACTION_LABELS,
  type Availability,
  rdpAvailability,
  rdpFile,
  rdpFileName,
  sshAvailability,
  sshCommand,
} from './vm-rules.ts';

/** The status cell: the confirmed status, or the pending action in words. */
export function StatusCell({ vm }: { vm: ApiVm }) {
  if (vm.pending_action !== null) {
    return (
      <span className="badge badge-pending">{ACTION_LABELS[vm.pending_action].pending.toLowerCase()}</span>
    );
  }
  return (
    <span
      className={`badge badge-${vm.status === 'running' ? 'running' : vm.status === 'stopped' ? 'stopped' : 'other'}`}
    >
      {vm.status}
    </span>
  );
}

function ConnectButton({
  label,
  name,
  availability,
  onClick,
}: {
  label: string;
  name: string;
  availability: Availability;
  onClick: () => void;
}) {
  const reason = availability.enabled ? '' : availability.reason;
  return (
    <button
      type="button"
      className="secondary"
      disabled={!availability.enabled}
      title={availability.enabled ? undefined : reason}
      aria-label={availability.enabled ? `${label} ${name}` : `${label} ${name} (unavailable: ${reason})`}
      onClick={onClick}
    >
      {label}
    </button>
  );
}

function ConnectButtons({ vm, username }: { vm: ApiVm; username: string }) {
  const [copied, setCopied] = useState(false);
  const downloadRdp = () => {
    const url = URL.createObjectURL(new Blob([rdpFile(vm, username)], { type: 'application/x-rdp' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = rdpFileName(vm);
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const copySsh = () => {
    navigator.clipboard.writeText(sshCommand(vm, username)).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 2000);
      },
      () => setCopied(false),
    );
  };
  return (
    <>
      <ConnectButton label="RDP" name={vm.name} availability={rdpAvailability(vm)} onClick={downloadRdp} />
      <ConnectButton
        label={copied ? 'Copied' : 'SSH'}
        name={vm.name}
        availability={sshAvailability(vm)}
        onClick={copySsh}
      />
    </>
  );
}

const virtualStyle = (offset: number): CSSProperties => ({
  position: 'absolute',
  top: 0,
  left: 0,
  right: 0,
  transform: `translateY(${offset}px)`,
});

/** What a cell needs besides its VM. */
interface CellContext {
  readonly username: string;
  readonly onError: (message: string) => void;
}

/** One column of the grid: its header, and how a row's cell shows a VM. */
interface Column {
  readonly label: string;
  readonly className?: string;
  readonly title?: (vm: ApiVm) => string | undefined;
  readonly render: (vm: ApiVm, context: CellContext) => ReactNode;
}

const percentWhenRunning = (vm: ApiVm, value: number) =>
  vm.status === 'running' ? `${value.toFixed(1)} %` : '–';

/** The grid's columns in order: the header and every row are drawn from this one list. */
const COLUMNS: readonly Column[] = [
  { label: 'Status', render: (vm) => <StatusCell vm={vm} /> },
  { label: 'Name', className: 'cell-name', title: (vm) => vm.name, render: (vm) => vm.name },
  { label: 'VMID', render: (vm) => vm.vmid },
  { label: 'Cluster', title: (vm) => vm.cluster_name, render: (vm) => vm.cluster_name },
  { label: 'Node', render: (vm) => vm.node },
  { label: 'OS', render: (vm) => vm.category },
  { label: 'IP address', render: (vm) => vm.ip ?? <span className="muted">none</span> },
  {
    label: 'CPU',
    // The CPU value opens the VM's CPU and memory history.
    render: (vm) => <VmHistoryButton vm={vm}>{percentWhenRunning(vm, vm.cpu_usage)}</VmHistoryButton>,
  },
  { label: 'Memory', render: (vm) => percentWhenRunning(vm, vm.memory_usage) },
  { label: 'Uptime', render: (vm) => formatUptime(vm.uptime) },
  {
    label: 'Connect',
    className: 'cell-buttons',
    render: (vm, { username }) => <ConnectButtons vm={vm} username={username} />,
  },
  {
    label: 'Tags',
    className: 'cell-tags',
    title: (vm) => vm.tag_list.join(', '),
    render: (vm) =>
      vm.tag_list.map((tag) => (
        <span key={tag} className="tag">
          {tag}
        </span>
      )),
  },
  {
    label: 'Checked',
    title: (vm) => vm.sync_error ?? undefined,
    render: (vm) => (
      <>
        {vm.sync_error !== null ? <span className="error-text">error · </span> : null}
        <TimeAgo iso={vm.last_status_check} />
      </>
    ),
  },
  {
    label: 'Actions',
    className: 'cell-buttons cell-actions',
    render: (vm, { onError }) => <PowerActions vm={vm} onError={onError} />,
  },
];

/** The column headers of the VM grid (the rows render the same cells in this order). */
export const VM_COLUMNS: readonly string[] = COLUMNS.map((column) => column.label);

/** One VM as a grid row; memoized so typing in the search box re-renders only rows that change. */
export const VmRow = memo(function VmRow({
  vm,
  username,
  rowIndex,
  onError,
  offset,
}: {
  vm: ApiVm;
  username: string;
  rowIndex: number;
  onError: (message: string) => void;
  /** Vertical position in a virtualized list (px); absent in a plain list. */
  offset?: number;
}) {
  const context: CellContext = { username, onError };
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      className={`vm-row${vm.stale ? ' is-stale' : ''}`}
      style={offset === undefined ? undefined : virtualStyle(offset)}
    >
      {COLUMNS.map((column) => (
        <div
          key={column.label}
          role="cell"
          data-label={column.label}
          className={column.className}
          title={column.title?.(vm)}
        >
          {column.render(vm, context)}
        </div>
      ))}
    </div>
  );
});

import { type CSSProperties, memo, useState } from 'react';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { describeError } from '../../lib/api-client.ts';
import { formatAge, formatUptime } from '../../lib/format.ts';
import { usePowerAction } from './vm-api.ts';
import { VmHistoryButton } from './vm-history.tsx';
import {
  ACTION_LABELS,
  type Availability,
  forceStopQuestion,
  POWER_ACTIONS,
  powerActionAvailability,
  rdpAvailability,
  rdpFile,
  rdpFileName,
  sshAvailability,
  sshCommand,
} from './vm-rules.ts';

/** The column headers of the VM grid (the row below renders the same cells in this order). */
export const VM_COLUMNS = [
  'Status',
  'Name',
  'VMID',
  'Cluster',
  'Node',
  'OS',
  'IP address',
  'CPU',
  'Memory',
  'Uptime',
  'Connect',
  'Tags',
  'Checked',
  'Actions',
] as const;

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

function PowerButtons({ vm, onError }: { vm: ApiVm; onError: (message: string) => void }) {
  const mutation = usePowerAction(vm);
  if (mutation.isPending && mutation.variables !== undefined) {
    return (
      <button type="button" disabled aria-label={`${ACTION_LABELS[mutation.variables].pending} ${vm.name}`}>
        {ACTION_LABELS[mutation.variables].pending}
      </button>
    );
  }
  const available = POWER_ACTIONS.filter((action) => powerActionAvailability(vm, action).enabled);
  if (available.length === 0) return <span className="muted">–</span>;
  return (
    <>
      {available.map((action) => (
        <button
          key={action}
          type="button"
          aria-label={`${ACTION_LABELS[action].label} ${vm.name}`}
          onClick={() => {
            // A hard stop is never one click away: it asks first (the graceful shutdown does not).
            if (action === 'stop' && !window.confirm(forceStopQuestion(vm.name))) return;
            mutation.mutate(action, {
              onError: (error) =>
                onError(`${vm.name}: ${ACTION_LABELS[action].label} failed. ${describeError(error)}`),
            });
          }}
        >
          {ACTION_LABELS[action].label}
        </button>
      ))}
    </>
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

/** One VM as a grid row; memoized so typing in the search box re-renders only rows that change. */
export const VmRow = memo(function VmRow({
  vm,
  username,
  now,
  rowIndex,
  onError,
  offset,
}: {
  vm: ApiVm;
  username: string;
  now: number;
  rowIndex: number;
  onError: (message: string) => void;
  /** Vertical position in a virtualized list (px); absent in a plain list. */
  offset?: number;
}) {
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      className={`vm-row${vm.stale ? ' is-stale' : ''}`}
      style={offset === undefined ? undefined : virtualStyle(offset)}
    >
      <div role="cell" data-label="Status">
        <StatusCell vm={vm} />
      </div>
      <div role="cell" data-label="Name" className="cell-name" title={vm.name}>
        {vm.name}
      </div>
      <div role="cell" data-label="VMID">
        {vm.vmid}
      </div>
      <div role="cell" data-label="Cluster">
        {vm.cluster_name}
      </div>
      <div role="cell" data-label="Node">
        {vm.node}
      </div>
      <div role="cell" data-label="OS">
        {vm.category}
      </div>
      <div role="cell" data-label="IP address">
        {vm.ip ?? <span className="muted">none</span>}
      </div>
      <div role="cell" data-label="CPU">
        <VmHistoryButton vm={vm}>
          {vm.status === 'running' ? `${vm.cpu_usage.toFixed(1)} %` : '–'}
        </VmHistoryButton>
      </div>
      <div role="cell" data-label="Memory">
        {vm.status === 'running' ? `${vm.memory_usage.toFixed(1)} %` : '–'}
      </div>
      <div role="cell" data-label="Uptime">
        {formatUptime(vm.uptime)}
      </div>
      <div role="cell" data-label="Connect" className="cell-buttons">
        <ConnectButtons vm={vm} username={username} />
      </div>
      <div role="cell" data-label="Tags" className="cell-tags" title={vm.tag_list.join(', ')}>
        {vm.tag_list.map((tag) => (
          <span key={tag} className="tag">
            {tag}
          </span>
        ))}
      </div>
      <div role="cell" data-label="Checked" title={vm.sync_error ?? undefined}>
        {vm.sync_error !== null ? <span className="error-text">error · </span> : null}
        {formatAge(vm.last_status_check, now)}
      </div>
      <div role="cell" data-label="Actions" className="cell-buttons">
        <PowerButtons vm={vm} onError={onError} />
      </div>
    </div>
  );
});

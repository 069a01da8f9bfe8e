import { useState } from 'react';
import type { ApiVm, PendingAction } from '#shared/domain/vm-record.ts';
import { describeError } from '../../lib/api-client.ts';
import { BulkResult } from './bulk-result.tsx';
import { useBulkAction } from './lab-ops-api.ts';

const ACTIONS: { value: PendingAction; label: string }[] = [
  { value: 'start', label: 'Start' },
  { value: 'shutdown', label: 'Shut down' },
  { value: 'reboot', label: 'Reboot' },
  { value: 'stop', label: 'Force stop' },
];

const keyOf = (vm: Pick<ApiVm, 'cluster_id' | 'vmid'>) => `${vm.cluster_id}/${vm.vmid}`;

/**
 * "Act on several VMs": pick VMs of the list shown (all of them at once, or one by one), pick an
 * action, run it as one bulk request and see what became of each VM.
 */
export function BulkActionPanel({ vms }: { vms: readonly ApiVm[] }) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [action, setAction] = useState<PendingAction>('start');
  const bulk = useBulkAction();
  const candidates = vms.filter((vm) => !vm.is_template);
  const chosen = candidates.filter((vm) => selected.has(keyOf(vm)));
  const toggle = (key: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  return (
    <details className="card bulk-panel">
      <summary>Act on several VMs</summary>
      <fieldset>
        <legend>VMs</legend>
        <button
          type="button"
          className="secondary"
          onClick={() =>
            setSelected(chosen.length === candidates.length ? new Set() : new Set(candidates.map(keyOf)))
          }
        >
          {chosen.length === candidates.length ? 'Select none' : `Select all ${candidates.length} shown`}
        </button>
        <ul className="bulk-choices">
          {candidates.map((vm) => (
            <li key={keyOf(vm)}>
              <label>
                <input type="checkbox" checked={selected.has(keyOf(vm))} onChange={() => toggle(keyOf(vm))} />{' '}
                {vm.name} ({keyOf(vm)}, {vm.status})
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <label>
        Action{' '}
        <select value={action} onChange={(event) => setAction(event.target.value as PendingAction)}>
          {ACTIONS.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
      </label>{' '}
      <button
        type="button"
        disabled={chosen.length === 0 || bulk.isPending}
        onClick={() =>
          bulk.mutate({
            action,
            target: { vms: chosen.map((vm) => ({ cluster_id: vm.cluster_id, vmid: vm.vmid })) },
          })
        }
      >
        {bulk.isPending ? 'Working…' : `Apply to ${chosen.length} VM${chosen.length === 1 ? '' : 's'}`}
      </button>
      {bulk.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(bulk.error)}
        </p>
      )}
      {bulk.data !== undefined && <BulkResult result={bulk.data} />}
    </details>
  );
}

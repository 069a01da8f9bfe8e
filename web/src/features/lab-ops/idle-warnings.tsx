import type { ApiVm } from '#shared/domain/vm-record.ts';
import { describeError } from '../../lib/api-client.ts';
import { useNow } from '../../lib/api-context.tsx';
import { useKeepRunning } from './lab-ops-api.ts';

/** Minutes left until `iso`, at least 0. */
function minutesUntil(iso: string, now: number): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - now) / 60_000));
}

/**
 * The idle rule's warnings: each running VM its class will shut down for idleness, when, and a
 * "Keep running" button that restarts the idle clock.
 */
export function IdleWarnings({
  vms,
  now,
}: {
  vms: readonly ApiVm[] /** default: a clock ticking every 30 s */;
  now?: number;
}) {
  const ticking = useNow(30_000);
  const at = now ?? ticking;
  const keep = useKeepRunning();
  const warned = vms.filter((vm) => typeof vm.idle_shutdown_at === 'string');
  if (warned.length === 0) return null;
  return (
    <div className="banner banner-warning" role="alert">
      <ul className="banner-list">
        {warned.map((vm) => (
          <li key={`${vm.cluster_id}/${vm.vmid}`}>
            {vm.name} has been idle and will be shut down in {minutesUntil(vm.idle_shutdown_at ?? '', at)}{' '}
            min.{' '}
            <button
              type="button"
              disabled={keep.isPending}
              onClick={() => keep.mutate({ cluster_id: vm.cluster_id, vmid: vm.vmid })}
            >
              Keep {vm.name} running
            </button>
          </li>
        ))}
      </ul>
      {keep.isError && <p>{describeError(keep.error)}</p>}
    </div>
  );
}

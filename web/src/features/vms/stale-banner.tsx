import { memo } from 'react';
import type { ApiVm } from '#shared/domain/vm-record.ts';
import { staleClusters } from './view-state.ts';

/**
 * Names the clusters whose data is stale: Proxmox could not be reached, so the list shows the last
 * known state. Nothing is rendered when every VM is fresh. Memoized: a keystroke in the search box
 * does not recount the list.
 */
export const StaleBanner = memo(function StaleBanner({ vms }: { vms: readonly ApiVm[] }) {
  const clusters = staleClusters(vms);
  if (clusters.length === 0) return null;
  const count = vms.filter((vm) => vm.stale).length;
  return (
    <div className="banner banner-warning" role="status">
      <strong>Stale data</strong> from {clusters.length === 1 ? 'cluster' : 'clusters'} {clusters.join(', ')}:{' '}
      Proxmox could not be reached, so {count === 1 ? '1 VM shows' : `${count} VMs show`} the last known
      state.
    </div>
  );
});

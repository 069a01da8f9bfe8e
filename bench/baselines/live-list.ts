import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import { agentEnabled } from '#shared/proxmox/mapping.ts';

/**
 * The "before" of the VM list: the original portal built the list at request time. For every guest
 * of `/cluster/resources` it called `status/current` and `config`, and for running QEMU guests whose
 * config enables the agent `agent/network-get-interfaces` — on every page load. Reproduced here on
 * the same Proxmox client as the sync (same per-node concurrency limit), so the comparison measures
 * the architecture, not the HTTP stack. The baseline is given the benefit of the doubt: for a user
 * who owns a few VMs, it makes the per-guest calls for those VMs only.
 */

/** What one request-time list did. */
export interface LiveListResult {
  vms: number;
  /** Agent calls that failed (agent not running): the portal showed no IP for those. */
  agentFailures: number;
}

/** `cluster_id:vmid` keys of the VMs a user may see; undefined = all (admin). */
export type VmScope = ReadonlySet<string> | undefined;

/** Builds the VM list the way the original portal did, cluster by cluster in parallel. */
export async function requestTimeList(
  clients: readonly ProxmoxGateway[],
  scope: VmScope,
): Promise<LiveListResult> {
  let vms = 0;
  let agentFailures = 0;
  await Promise.all(
    clients.map(async (client) => {
      const { guests } = await client.clusterResources();
      const wanted =
        scope === undefined ? guests : guests.filter((g) => scope.has(`${client.clusterId}:${g.vmid}`));
      await Promise.all(
        wanted.map(async (g) => {
          const [status, config] = await Promise.all([
            client.guestStatus(g.node, g.type, g.vmid),
            client.guestConfig(g.node, g.type, g.vmid),
          ]);
          if (g.type === 'qemu' && status.status === 'running' && agentEnabled(config.agent)) {
            try {
              await client.agentInterfaces(g.node, g.vmid);
            } catch {
              agentFailures += 1;
            }
          }
          vms += 1;
        }),
      );
    }),
  );
  return { vms, agentFailures };
}

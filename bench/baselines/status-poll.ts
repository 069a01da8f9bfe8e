import type { GuestKind, ProxmoxGateway } from '#shared/proxmox/gateway.ts';

/**
 * The "before" of the quick sync: every 30 s the original portal took the guests its database
 * marked running and called `status/current` for each of them. Reproduced on the same Proxmox
 * client as the sync (same per-node concurrency limit).
 */

/** A guest the portal's database knew as running. */
export interface KnownGuest {
  node: string;
  type: GuestKind;
  vmid: number;
}

/** What one polling pass of a cluster did. */
export interface StatusPollResult {
  clusterId: string;
  calls: number;
  durationMs: number;
}

/** One polling pass over a cluster: one status call per running guest. */
export async function statusPollPass(
  client: ProxmoxGateway,
  running: readonly KnownGuest[],
): Promise<StatusPollResult> {
  const started = performance.now();
  const before = client.callCounts().total;
  // A guest destroyed since the portal last looked answers an error: the poll goes on (as it did).
  await Promise.allSettled(running.map((g) => client.guestStatus(g.node, g.type, g.vmid)));
  return {
    clusterId: client.clusterId,
    calls: client.callCounts().total - before,
    durationMs: performance.now() - started,
  };
}

import type { ClusterConfig } from '#shared/config/clusters.ts';
import {
  createClientOnTransport,
  type ProxmoxClient,
  type ProxmoxClientDeps,
} from '#shared/proxmox/client-core.ts';
import { createEndpointPool } from '#shared/proxmox/tls.ts';

export * from '#shared/proxmox/client-core.ts';

/**
 * The Proxmox client on undici pools (the sync: many concurrent calls per endpoint). The power
 * action uses the same client on `node:https` (https-client.ts), which keeps undici out of its bundle.
 */
export function createProxmoxClient(cluster: ClusterConfig, deps: ProxmoxClientDeps): ProxmoxClient {
  return createClientOnTransport(cluster, deps, createEndpointPool);
}

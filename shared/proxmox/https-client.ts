import type { ClusterConfig } from '#shared/config/clusters.ts';
import {
  createClientOnTransport,
  type ProxmoxClient,
  type ProxmoxClientDeps,
} from '#shared/proxmox/client-core.ts';
import { createHttpsEndpoint } from '#shared/proxmox/https-transport.ts';

/**
 * The Proxmox client on `node:https` keep-alive agents: the same calls, TLS verification,
 * timeouts, typed errors and token redaction as the undici client (both are
 * {@link createClientOnTransport}), without undici in the bundle. Used by the power-action path,
 * which makes a handful of calls per request.
 */
export function createHttpsProxmoxClient(cluster: ClusterConfig, deps: ProxmoxClientDeps): ProxmoxClient {
  return createClientOnTransport(cluster, deps, createHttpsEndpoint);
}

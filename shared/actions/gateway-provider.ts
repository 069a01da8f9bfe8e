import type { ClusterConfig, ClustersFile } from '#shared/config/clusters.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import type { ProxmoxConnector } from '#shared/sync/proxmox-connector.ts';

/** The cluster asked for is not in the clusters configuration. */
export class UnknownClusterError extends Error {
  override readonly name = 'UnknownClusterError';
  constructor(readonly clusterId: string) {
    super(`cluster ${clusterId} is not configured`);
  }
}

/** The Proxmox clients of the configured clusters, by cluster id. */
export interface GatewayProvider {
  /** Ids of the configured clusters, in file order. */
  clusterIds(): string[];
  /** The cluster's client (cached by the connector); {@link UnknownClusterError} when not configured. */
  gatewayFor(clusterId: string): Promise<ProxmoxGateway>;
  /** Closes every client created so far. */
  close(): Promise<void>;
}

/**
 * Looks clusters up by id in the configuration and connects through the sync's connector (one
 * client per cluster per container, token secrets refreshed after a maximum age).
 */
export function createGatewayProvider(clusters: ClustersFile, connector: ProxmoxConnector): GatewayProvider {
  const byId = new Map<string, ClusterConfig>(clusters.clusters.map((c) => [c.id, c]));
  return {
    clusterIds: () => [...byId.keys()],
    async gatewayFor(clusterId) {
      const cluster = byId.get(clusterId);
      if (!cluster) throw new UnknownClusterError(clusterId);
      return connector.connect(cluster);
    },
    close: () => connector.close(),
  };
}

import { readFile } from 'node:fs/promises';
import type { ClusterConfig } from '#shared/config/clusters.ts';
import { resolveTokenSecret, type TokenSecretSources } from '#shared/config/token-secret.ts';
import type { ProxmoxClientDeps } from '#shared/proxmox/client-core.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';

/**
 * One Proxmox client per cluster per container, with its token secret re-resolved after a maximum
 * age (a rotated Secrets Manager secret is picked up without a cold start) and at once after an
 * authentication failure.
 */

/** How long a resolved token secret is trusted before it is fetched again. */
export const DEFAULT_SECRET_MAX_AGE_MS = 5 * 60_000;

/** Options of {@link createProxmoxConnector}. */
export interface ProxmoxConnectorOptions {
  /** Where token secrets come from (env, files, Secrets Manager). */
  sources: TokenSecretSources;
  secretMaxAgeMs?: number;
  now?: () => number;
  /** Client tuning (timeouts, retries, logger); the token secret is added per cluster. */
  clientDeps?: Omit<ProxmoxClientDeps, 'tokenSecret'>;
  /**
   * Client factory: createProxmoxClient (undici, the sync) or createHttpsProxmoxClient (node:https,
   * the power action). Required so that this module pulls neither transport into a bundle.
   */
  createClient: (cluster: ClusterConfig, deps: ProxmoxClientDeps) => ProxmoxGateway;
}

/** Gives the cached client of a cluster; see {@link createProxmoxConnector}. */
export interface ProxmoxConnector {
  connect(cluster: ClusterConfig): Promise<ProxmoxGateway>;
  /** Forgets a cluster's secret (the next connect resolves it again). */
  invalidate(clusterId: string): void;
  /** Closes every client. */
  close(): Promise<void>;
}

interface Entry {
  secret: string;
  resolvedAt: number;
  gateway: ProxmoxGateway;
}

/** Creates a connector that caches one client per cluster and refreshes secrets after a max age. */
export function createProxmoxConnector(options: ProxmoxConnectorOptions): ProxmoxConnector {
  const now = options.now ?? Date.now;
  const maxAge = options.secretMaxAgeMs ?? DEFAULT_SECRET_MAX_AGE_MS;
  const create = options.createClient;
  const sources: TokenSecretSources = { readFile: (path) => readFile(path, 'utf8'), ...options.sources };
  const entries = new Map<string, Entry>();
  const stale = new Set<string>();
  // Concurrent first connects of one cluster share one resolution.
  const pending = new Map<string, Promise<ProxmoxGateway>>();

  const refresh = async (cluster: ClusterConfig): Promise<ProxmoxGateway> => {
    const secret = await resolveTokenSecret(cluster, sources);
    const current = entries.get(cluster.id);
    stale.delete(cluster.id);
    if (current && current.secret === secret) {
      current.resolvedAt = now();
      return current.gateway;
    }
    const gateway = create(cluster, { ...options.clientDeps, tokenSecret: secret });
    entries.set(cluster.id, { secret, resolvedAt: now(), gateway });
    if (current) await current.gateway.close().catch(() => undefined);
    return gateway;
  };

  return {
    async connect(cluster) {
      const current = entries.get(cluster.id);
      if (current && !stale.has(cluster.id) && now() - current.resolvedAt < maxAge) return current.gateway;
      let inFlight = pending.get(cluster.id);
      if (!inFlight) {
        inFlight = refresh(cluster).finally(() => pending.delete(cluster.id));
        pending.set(cluster.id, inFlight);
      }
      return inFlight;
    },
    invalidate(clusterId) {
      stale.add(clusterId);
    },
    async close() {
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((entry) => entry.gateway.close().catch(() => undefined)));
    },
  };
}

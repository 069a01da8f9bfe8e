import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultApiDependencies } from '#shared/api/dependencies.ts';
import { secretsManagerFetcher } from '#shared/config/aws-secret.ts';
import type { ClustersFile } from '#shared/config/clusters.ts';
import { clustersFromEnv } from '#shared/config/clusters-env.ts';
import { logger } from '#shared/observability/powertools.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';
import { type ActionService, createActionService } from './action-service.ts';
import { createGatewayProvider, type GatewayProvider } from './gateway-provider.ts';

/**
 * The action services of a process, wired once from the environment: the clusters configuration,
 * one Proxmox client per cluster, the API's repositories. The single-action route, the bulk route
 * and the class schedules all act through it.
 */

/** Powertools' logger as the structured logger the client and the services expect. */
export const structuredLogger = {
  debug: (message: string, attributes: Record<string, unknown> = {}) => logger.debug(message, attributes),
  info: (message: string, attributes: Record<string, unknown> = {}) => logger.info(message, attributes),
  warn: (message: string, attributes: Record<string, unknown> = {}) => logger.warn(message, attributes),
  error: (message: string, attributes: Record<string, unknown> = {}) => logger.error(message, attributes),
};

/** What acting on many VMs needs. */
export interface ActionWiring {
  readonly clusters: ClustersFile;
  readonly provider: GatewayProvider;
  /** The action service with the given confirmation wait (ms). */
  actionService(waitMs: number): ActionService;
  /** A cluster's per-node worker limit (`maxInFlightPerNode`, 3 by default). */
  workerLimit(clusterId: string): number;
}

/** Builds the wiring on given clusters and a provider (tests, the local stack). */
export function createActionWiring(
  clusters: ClustersFile,
  provider: GatewayProvider,
  base: Omit<Parameters<typeof createActionService>[0], 'gatewayFor' | 'clusterIds' | 'waitMs'>,
): ActionWiring {
  const limits = new Map(clusters.clusters.map((c) => [c.id, c.maxInFlightPerNode]));
  return {
    clusters,
    provider,
    actionService: (waitMs) =>
      createActionService({
        ...base,
        clusterIds: async () => provider.clusterIds(),
        gatewayFor: (clusterId) => provider.gatewayFor(clusterId),
        waitMs,
      }),
    workerLimit: (clusterId) => limits.get(clusterId) ?? 3,
  };
}

let wired: Promise<ActionWiring> | undefined;

/** The process's wiring from the environment (`CLUSTERS_CONFIG`, the tables), created on first use. */
export function defaultActionWiring(): Promise<ActionWiring> {
  wired ??= (async () => {
    const api = defaultApiDependencies();
    const clusters = await clustersFromEnv(process.env);
    let secrets: SecretsManagerClient | undefined;
    const connector = createProxmoxConnector({
      sources: {
        env: process.env,
        awsSecret: (id) => {
          secrets ??= new SecretsManagerClient({});
          return secretsManagerFetcher(secrets)(id);
        },
      },
      clientDeps: { logger: structuredLogger },
      // node:https, not undici: a few calls per request, and bundles without undici's ~700 KB.
      createClient: createHttpsProxmoxClient,
    });
    return createActionWiring(clusters, createGatewayProvider(clusters, connector), {
      inventory: api.repositories.inventory,
      ownership: api.repositories.ownership,
      now: api.now,
      logger: structuredLogger,
    });
  })();
  // A failed wiring (e.g. a bad setting) is retried by the next request rather than cached.
  wired.catch(() => {
    wired = undefined;
  });
  return wired;
}

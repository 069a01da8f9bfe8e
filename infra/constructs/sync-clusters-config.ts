import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import { type ClustersFile, parseClustersFile } from '#shared/config/clusters.ts';

/** Lambda limits all environment variables of a function to 4 KB together; leave room for the others. */
export const MAX_CLUSTERS_CONFIG_BYTES = 3_000;

/** Thrown when the clusters file cannot be deployed as it is; the message says what to change. */
export class ClustersDeploymentError extends Error {
  override readonly name = 'ClustersDeploymentError';
}

/** A cluster's outbound destinations: its endpoints (a host CIDR when given by IP) and probe ports. */
export interface ClusterEgressTarget {
  readonly clusterId: string;
  /** `cidr` is `/32` or `/128` for an endpoint given by IP address, null for a host name. */
  readonly endpoints: { readonly host: string; readonly cidr: string | null; readonly port: number }[];
  readonly probePorts: number[];
}

/** What the sync stack needs from the clusters file. */
export interface DeployableClusters {
  /** The validated file. */
  readonly file: ClustersFile;
  /** Cluster ids, in file order (alarms and dashboard lines per cluster). */
  readonly clusterIds: string[];
  /** `CLUSTERS_CONFIG` value: the file as compact JSON, CA files inlined as `caPem`; never a secret. */
  readonly environmentJson: string;
  /** Secrets Manager names or ARNs of the clusters' API tokens. */
  readonly secretRefs: string[];
  /** Outbound TCP ports: every endpoint's API port and every probe port. */
  readonly ports: number[];
  /** The endpoints' API ports (sorted, unique). */
  readonly apiPorts: number[];
  /** The RDP/SSH probe ports (sorted, unique). */
  readonly probePorts: number[];
  /** Per cluster: where its API endpoints are and which probe ports it uses (egress rules). */
  readonly egressTargets: ClusterEgressTarget[];
  /** Clusters whose token secret cannot be resolved inside Lambda (`env`/`file` references). */
  readonly clustersWithoutAwsSecret: string[];
  /** Problems the deployment should show as synth warnings. */
  readonly warnings: string[];
}

/** Reads and validates a clusters file for deployment (synchronous: CDK constructs are). */
export function readClustersForDeployment(path: string): DeployableClusters {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ClustersDeploymentError(
      `${path}: cannot read the clusters file (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return prepareClustersForDeployment(
    parseClustersFile(json, path, { baseDir: dirname(resolve(path)) }),
    path,
  );
}

/**
 * Derives the deployment facts from a validated clusters file. CA files are read and inlined so
 * that the function needs no file of its own; the result must fit in a Lambda environment variable.
 */
export function prepareClustersForDeployment(file: ClustersFile, source: string): DeployableClusters {
  const warnings: string[] = [];
  const clusters = file.clusters.map((cluster) => {
    if (cluster.tls?.caFile === undefined) return cluster;
    try {
      return { ...cluster, tls: { caPem: readFileSync(cluster.tls.caFile, 'utf8') } };
    } catch {
      // Fail closed at run time (that cluster's sync reports the unreadable CA) rather than
      // silently deploying different TLS settings or blocking the whole synth.
      warnings.push(
        `cluster ${cluster.id}: tls.caFile ${basename(cluster.tls.caFile)} cannot be read, so its sync will fail`,
      );
      return { ...cluster, tls: { caFile: basename(cluster.tls.caFile) } };
    }
  });
  const environmentJson = JSON.stringify({ clusters });
  if (Buffer.byteLength(environmentJson) > MAX_CLUSTERS_CONFIG_BYTES) {
    throw new ClustersDeploymentError(
      `${source}: the clusters configuration is ${Buffer.byteLength(environmentJson)} bytes, more than the ${MAX_CLUSTERS_CONFIG_BYTES} that fit in the sync functions' environment; pin certificates by fingerprint instead of CA bundles, or shorten names`,
    );
  }
  const apiPorts = new Set<number>();
  const probePorts = new Set<number>();
  const egressTargets: ClusterEgressTarget[] = file.clusters.map((cluster) => {
    const endpoints = cluster.endpoints.map((endpoint) => {
      const url = new URL(endpoint.url);
      const port = url.port === '' ? 443 : Number(url.port);
      apiPorts.add(port);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const family = isIP(host);
      return { host, cidr: family === 4 ? `${host}/32` : family === 6 ? `${host}/128` : null, port };
    });
    const clusterProbePorts = [...new Set([cluster.probePorts.rdp, cluster.probePorts.ssh])];
    for (const port of clusterProbePorts) probePorts.add(port);
    return { clusterId: cluster.id, endpoints, probePorts: clusterProbePorts };
  });
  const sorted = (values: Iterable<number>) => [...values].sort((a, b) => a - b);
  const ports = new Set([...apiPorts, ...probePorts]);
  return {
    file,
    clusterIds: file.clusters.map((cluster) => cluster.id),
    environmentJson,
    secretRefs: file.clusters.flatMap((cluster) =>
      cluster.tokenSecret.awsSecret === undefined ? [] : [cluster.tokenSecret.awsSecret],
    ),
    ports: sorted(ports),
    apiPorts: sorted(apiPorts),
    probePorts: sorted(probePorts),
    egressTargets,
    clustersWithoutAwsSecret: file.clusters
      .filter((cluster) => cluster.tokenSecret.awsSecret === undefined)
      .map((cluster) => cluster.id),
    warnings,
  };
}

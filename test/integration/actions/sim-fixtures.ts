import { type ClusterConfig, parseClustersFile } from '#shared/config/clusters.ts';
import { type NewStoredVm, normalizeVmStatus } from '#shared/domain/vm-record.ts';
import type { GroundTruthGuest, Simulator } from '#simulator/index.ts';

/** The simulator's clusters as the project's clusters file, and the environment holding their token. */
export function simClusters(sim: Simulator): {
  clusters: { clusters: ClusterConfig[] };
  env: Record<string, string>;
} {
  const clusters = parseClustersFile(sim.clusterConfig(), 'simulator clusterConfig()');
  const secret = sim.clusters[0]?.tokenSecret;
  if (secret === undefined) throw new Error('simulator has no cluster');
  return { clusters, env: { PVE_SIM_TOKEN: secret } };
}

/** The inventory item a correct sync would hold for a simulated guest (observed long ago). */
export function storedFromTruth(
  clusterId: string,
  clusterName: string,
  guest: GroundTruthGuest,
): NewStoredVm {
  return {
    cluster_id: clusterId,
    vmid: guest.vmid,
    cluster_name: clusterName,
    name: guest.name,
    node: guest.node,
    type: guest.type,
    category: guest.category,
    status: normalizeVmStatus(guest.status),
    ip: guest.expectedIp,
    mac: guest.mac ?? null,
    memory: guest.memoryMiB,
    cores: guest.cores,
    disk_size: guest.diskBytes,
    is_template: guest.template,
    tag_list: guest.tags,
    pool: guest.pool ?? null,
    lock: guest.lock ?? null,
    hastate: guest.hastate ?? null,
    observed_at: 1_000,
  };
}

/** The first guest of a cluster matching `predicate`, or a test failure naming what was wanted. */
export function pickGuest(
  sim: Simulator,
  clusterId: string,
  what: string,
  predicate: (guest: GroundTruthGuest) => boolean,
  exclude: ReadonlySet<number> = new Set(),
): GroundTruthGuest {
  const guest = sim.groundTruth(clusterId).find((g) => !exclude.has(g.vmid) && predicate(g));
  if (guest === undefined) throw new Error(`simulated ${clusterId} has no ${what}`);
  return guest;
}

import type { ClusterConfig } from '#shared/config/clusters.ts';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { createProxmoxClient, type ProxmoxClient } from '#shared/proxmox/client.ts';
import { type EndpointClass, type Simulator, startSimulator } from '#simulator/index.ts';

/**
 * Per-call latencies modelled on real clusters (a loaded PVE 8 node): the cluster-wide listing is
 * served from pmxcfs memory, per-guest calls go through pvedaemon workers on the guest's node, and
 * agent calls wait for QMP and the guest agent. Stated in every report.
 */
export const MODELLED_LATENCY_MS: Readonly<Record<EndpointClass, number>> = {
  version: 20,
  resources: 30,
  cluster_status: 30,
  nodes: 30,
  node_status: 40,
  config: 40,
  status: 40,
  agent: 200,
  interfaces: 40,
  power: 40,
  task: 40,
  pools: 40,
  other: 40,
};

/** A simulated fleet with its validated cluster configs and one Proxmox client per cluster. */
export interface BenchFleet {
  sim: Simulator;
  clusters: ClusterConfig[];
  /** Token secret of cluster `id` (the simulator's). */
  secretOf(clusterId: string): string;
  /** A fresh Proxmox client for a cluster (per-node concurrency from its config). */
  client(clusterId: string): ProxmoxClient;
  /** Calls counted by the simulator across all clusters. */
  simCalls(): Record<string, number>;
  stop(): Promise<void>;
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  clusters: number;
  guestsPerCluster: number;
  nodesPerCluster?: number;
  seed?: number;
  latency?: boolean;
  probeListeners?: boolean;
  drift?: boolean;
  churnPerMinute?: number;
  nodeLayout?: 'round-robin' | 'contiguous';
  /** How long "agent not running" takes to come back (real PVE: about 3 s). */
  agentNotRunningDelayMs?: number;
}

/** Starts the simulator on loopback with the modelled latencies. */
export async function startFleet(options: FleetOptions): Promise<BenchFleet> {
  const sim = await startSimulator({
    clusters: options.clusters,
    nodesPerCluster: options.nodesPerCluster ?? 3,
    guestsPerCluster: options.guestsPerCluster,
    seed: options.seed ?? 7,
    latencyMs: options.latency === false ? {} : { ...MODELLED_LATENCY_MS },
    probeListeners: options.probeListeners ?? false,
    drift: options.drift ?? true,
    churnPerMinute: options.churnPerMinute ?? 0,
    ...(options.nodeLayout ? { nodeLayout: options.nodeLayout } : {}),
    ...(options.agentNotRunningDelayMs ? { agentNotRunningDelayMs: options.agentNotRunningDelayMs } : {}),
  });
  const file = parseClustersFile(sim.clusterConfig(), 'simulator clusters');
  const secrets = new Map(sim.clusters.map((c) => [c.id, c.tokenSecret]));
  const clients: ProxmoxClient[] = [];
  const secretOf = (id: string): string => {
    const s = secrets.get(id);
    if (s === undefined) throw new RangeError(`no simulated cluster ${id}`);
    return s;
  };
  return {
    sim,
    clusters: file.clusters,
    secretOf,
    client(clusterId) {
      const config = file.clusters.find((c) => c.id === clusterId);
      if (config === undefined) throw new RangeError(`no simulated cluster ${clusterId}`);
      const c = createProxmoxClient(config, { tokenSecret: secretOf(clusterId) });
      clients.push(c);
      return c;
    },
    simCalls() {
      const total: Record<string, number> = {};
      for (const c of sim.clusters) {
        for (const [k, v] of Object.entries(sim.counters(c.id))) total[k] = (total[k] ?? 0) + v;
      }
      return total;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await sim.stop();
    },
  };
}

import type { EndpointClass } from '#shared/proxmox/endpoint-class.ts';
import type { PveMajor } from '#simulator/pve-version.ts';

/** The endpoint classes are the client's, so counters and faults compare one to one. */
export { ENDPOINT_CLASSES, type EndpointClass } from '#shared/proxmox/endpoint-class.ts';

/** Options of {@link startSimulator}; every field has a default. */
export interface SimulatorOptions {
  /** Number of clusters (default 2). */
  clusters?: number;
  /** Nodes per cluster (default 3). */
  nodesPerCluster?: number;
  /** Guests per cluster (default 100). */
  guestsPerCluster?: number;
  /** Seed of everything generated (default 1). */
  seed?: number;
  /** 0 (default) = free ports; otherwise cluster i's first node listens on basePort+i. */
  basePort?: number;
  /** API token id (default 'root@pam!sim'). */
  tokenId?: string;
  /** API token secret (default: a UUID derived from the seed). */
  tokenSecret?: string;
  /** Password of the token's user for /access/ticket (default 'simulator'). */
  password?: string;
  /** Ports standing for RDP and SSH on guest IPs (default 13389 / 10022). */
  probePorts?: { rdp: number; ssh: number };
  /** Listen on reachable guests' IPs at the probe ports (default true). */
  probeListeners?: boolean;
  /** Duration of power-action tasks in ms (default 1500). */
  taskDelayMs?: number;
  /** Modelled latency per endpoint class in ms (default 0). */
  latencyMs?: Partial<Record<EndpointClass, number>>;
  /** Runtime stats drift over time (default true). */
  drift?: boolean;
  /** Guests created/destroyed/started/stopped per minute per cluster (default 0). */
  churnPerMinute?: number;
  /** Delay of every 401 in ms; real PVE waits 3000 (default 0 to keep tests fast). */
  authFailureDelayMs?: number;
  /**
   * How long an agent call to a guest whose agent does not run takes before PVE answers "QEMU guest
   * agent is not running", holding one of the node's 3 workers; real PVE: about 3000 (default 0).
   */
  agentNotRunningDelayMs?: number;
  /**
   * How long after a QEMU guest boots its guest agent starts answering (until then PVE says "QEMU
   * guest agent is not running"); a real agent needs tens of seconds (default 0 = at once).
   */
  agentStartDelayMs?: number;
  /** How guests spread over a cluster's nodes (default `round-robin`; see `FleetSpec.nodeLayout`). */
  nodeLayout?: 'round-robin' | 'contiguous';
  /** Port of the plain-HTTP control listener on 127.0.0.1 (default 0 = free port). */
  controlPort?: number;
  /**
   * How long guests of an offline node keep their last stats (status included) in /cluster/resources
   * before they show `status: "unknown"` without stats; real PVE: 300000 (default 0 = at once).
   */
  offlineStaleMs?: number;
  /**
   * Proxmox VE major version every node speaks at start (default 9, the current release); see
   * `simulator/pve-version.ts` for what differs. `Simulator.setNodeVersion` mixes versions.
   */
  pveVersion?: PveMajor;
}

/** Category of a guest's OS as the inventory classifies it. */
export type OsCategory = 'windows' | 'linux' | 'other';

/** State of the QEMU guest agent of a VM as generated. */
export type AgentMode = 'none' | 'disabled' | 'not-running' | 'running-no-ips' | 'running';

/** What a correct sync must find for one guest. */
export interface GroundTruthGuest {
  vmid: number;
  name: string;
  node: string;
  type: 'qemu' | 'lxc';
  /** The /cluster/resources status (QEMU run state, e.g. 'paused'). */
  status: string;
  category: OsCategory;
  ostype: string | null;
  /** vCPUs: sockets x cores, or vcpus when set (LXC: cores). */
  cores: number;
  memoryMiB: number;
  /** Size of the first boot disk (QEMU) or the root fs (LXC), as `maxdisk`. */
  diskBytes: number;
  /** Sum of all disk sizes in the config (cd-roms excluded). */
  totalDiskBytes: number;
  template: boolean;
  tags: string[];
  pool?: string;
  hastate?: string;
  lock?: string;
  /** MAC of net0, upper case as in the config. */
  mac?: string;
  agent: AgentMode | null;
  /**
   * The IP a correct sync picks: the IPv4 of the in-guest interface whose MAC matches net0 when live
   * data exists (agent running with IPs, or a running container); else the static IPv4 of net0
   * (ipconfig0 / LXC ip=); else null.
   */
  expectedIp: string | null;
  rdpReachable: boolean;
  sshReachable: boolean;
}

/** One HTTPS endpoint of a simulated cluster (one per node). */
export interface SimulatedEndpoint {
  node: string;
  url: string;
  port: number;
}

/** A running simulated cluster. */
export interface SimulatedCluster {
  id: string;
  name: string;
  /** First node's endpoint URL. */
  url: string;
  endpoints: SimulatedEndpoint[];
  /** First node's port. */
  port: number;
  ports: number[];
  /** SHA-256 of the nodes' current certificate, colon hex upper case (changes when it is renewed). */
  fingerprint: string;
  /** The cluster's root CA (PVE's `pve-root-ca.pem`), which signs every node certificate: trust it as a CA bundle. */
  certPem: string;
  /** Proxmox VE major version the cluster was started with. */
  pveVersion: PveMajor;
  tokenId: string;
  tokenSecret: string;
  nodes: string[];
}

/** An extra API token, e.g. one restricted to a few VMIDs (PVE ACL filtering). */
export interface ExtraToken {
  tokenId: string;
  secret: string;
  /** VMIDs the token has privileges on; absent = every guest. */
  vmids?: number[];
  /**
   * Privileges on those VMIDs (default VM.Audit, VM.PowerMgmt and both agent privilege names,
   * VM.Monitor for PVE 8 nodes and VM.GuestAgent.Audit for PVE 9 nodes).
   */
  privileges?: string[];
  /** Sys.Audit on / and nodes (default false for restricted tokens). */
  sysAudit?: boolean;
}

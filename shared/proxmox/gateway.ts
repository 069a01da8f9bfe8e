import type { CallCounts } from '#shared/proxmox/endpoint-class.ts';
import type {
  AgentInterface,
  ClusterStatusRow,
  GuestConfig,
  GuestResource,
  GuestStatus,
  LxcInterface,
  NodeListEntry,
  NodeResource,
  PveVersion,
  TaskStatus,
} from '#shared/proxmox/schemas.ts';

/** Guest type as Proxmox names it. */
export type GuestKind = 'qemu' | 'lxc';

/** Power actions the inventory offers. */
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';

/** Guest and node rows of one `/cluster/resources` call. */
export interface ClusterResources {
  guests: GuestResource[];
  nodes: NodeResource[];
}

/** Result of {@link ProxmoxGateway.waitForTask}. */
export type TaskOutcome =
  | { finished: true; upid: string; exitStatus: string; ok: boolean }
  | { finished: false; upid: string };

/** Options of {@link ProxmoxGateway.waitForTask}. */
export interface WaitForTaskOptions {
  /** Give up after this long (default 20 000 ms); the task keeps running on Proxmox. */
  timeoutMs?: number;
  /** Pause between polls (default 1 000 ms). */
  intervalMs?: number;
}

/**
 * The port the sync and the API use to talk to one Proxmox VE cluster. Every method throws a
 * `ProxmoxError` subclass (see errors.ts) on failure and returns zod-validated data.
 */
export interface ProxmoxGateway {
  readonly clusterId: string;
  /** `GET /version`. */
  version(): Promise<PveVersion>;
  /** `GET /cluster/resources` (no type filter): guest and node rows in ONE call. */
  clusterResources(): Promise<ClusterResources>;
  /** `GET /cluster/status`. */
  clusterStatus(): Promise<ClusterStatusRow[]>;
  /** `GET /nodes`. */
  nodes(): Promise<NodeListEntry[]>;
  /** `GET /nodes/{node}/{qemu|lxc}/{vmid}/config`. */
  guestConfig(node: string, type: GuestKind, vmid: number): Promise<GuestConfig>;
  /** `GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current`. */
  guestStatus(node: string, type: GuestKind, vmid: number): Promise<GuestStatus>;
  /** `GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces` (the `result` array). */
  agentInterfaces(node: string, vmid: number): Promise<AgentInterface[]>;
  /** `GET /nodes/{node}/lxc/{vmid}/interfaces`; null when the container is stopped. */
  lxcInterfaces(node: string, vmid: number): Promise<LxcInterface[] | null>;
  /** `POST .../status/{action}`: returns the task's UPID. Never retried automatically. */
  powerAction(node: string, type: GuestKind, vmid: number, action: PowerAction): Promise<string>;
  /** `GET /nodes/{upid node}/tasks/{upid}/status`. */
  taskStatus(upid: string): Promise<TaskStatus>;
  /** Polls a task until it stops (with its exit status) or the bounded wait ends. */
  waitForTask(upid: string, options?: WaitForTaskOptions): Promise<TaskOutcome>;
  /** Calls made by this client, per endpoint class (metrics, benchmarks). */
  callCounts(): CallCounts;
  /** Zeroes {@link callCounts}. */
  resetCallCounts(): void;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Structured logger the client writes to (Powertools' Logger fits). */
export interface ProxmoxLogger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

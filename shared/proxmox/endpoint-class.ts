/**
 * Classes of Proxmox API calls. The client counts calls, picks timeouts and reports errors per class;
 * the names match the simulator's counters so tests and benchmarks can compare them one to one.
 */
export type EndpointClass =
  | 'version'
  | 'resources'
  | 'cluster_status'
  | 'nodes'
  | 'node_status'
  | 'config'
  | 'status'
  | 'agent'
  | 'interfaces'
  | 'power'
  | 'task'
  | 'pools'
  | 'other';

/** Every endpoint class, in a fixed order. */
export const ENDPOINT_CLASSES: readonly EndpointClass[] = [
  'version',
  'resources',
  'cluster_status',
  'nodes',
  'node_status',
  'config',
  'status',
  'agent',
  'interfaces',
  'power',
  'task',
  'pools',
  'other',
];

/** Calls made per endpoint class, plus their total. */
export type CallCounts = Record<EndpointClass, number> & { total: number };

/** A zeroed {@link CallCounts}. */
export function emptyCallCounts(): CallCounts {
  return {
    version: 0,
    resources: 0,
    cluster_status: 0,
    nodes: 0,
    node_status: 0,
    config: 0,
    status: 0,
    agent: 0,
    interfaces: 0,
    power: 0,
    task: 0,
    pools: 0,
    other: 0,
    total: 0,
  };
}

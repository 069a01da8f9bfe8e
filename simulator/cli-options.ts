import { parseArgs } from 'node:util';
import { DEFAULT_PVE_MAJOR, PVE_MAJORS, type PveMajor } from '#simulator/pve-version.ts';
import type { SimulatorOptions } from '#simulator/types.ts';

/** Thrown for a bad command-line flag. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Help text of the simulator CLI. */
export const USAGE = `Usage: npm run simulator -- [options]
  --clusters N            clusters (default 2)
  --nodes N               nodes per cluster (default 3)
  --vms N                 guests per cluster (default 100)
  --seed N                seed of the fleet (default 1)
  --port N                first port (default 8006; 0 = free ports)
  --token ID=SECRET       API token, e.g. 'root@pam!sim=<uuid>' (default root@pam!sim + seeded uuid)
  --password PW           password of the token's user for /access/ticket (default 'simulator')
  --rdp-port N            port standing for RDP on guest IPs (default 13389)
  --ssh-port N            port standing for SSH on guest IPs (default 10022)
  --no-probe-listeners    do not listen on guest IPs
  --task-delay MS         duration of power-action tasks (default 1500)
  --churn N               guests created/destroyed/started/stopped per minute (default 0)
  --no-drift              freeze runtime stats
  --control-port N        port of the control API (default: a free port)
  --auth-delay MS         delay every 401 like PVE does (3000 on real servers; default 0)
  --offline-stale MS      guests of an offline node keep stale stats this long (300000 on real servers; default 0)
  --agent-delay MS        "agent not running" answers take this long (about 3000 on real servers; default 0)
  --agent-start MS        a QEMU guest's agent answers only this long after the guest booted (default 0)
  --node-layout L         round-robin (default) or contiguous: VMID ranges per node
  --pve-version 8|9       Proxmox VE major version the nodes speak (default 9)
  --write-config FILE     write the clusters JSON there and the token secret beside it
`;

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new CliUsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

function pveVersion(value: string | undefined): PveMajor {
  if (value === undefined) return DEFAULT_PVE_MAJOR;
  const major = PVE_MAJORS.find((m) => String(m) === value.trim());
  if (major === undefined) throw new CliUsageError(`--pve-version must be 8 or 9, got '${value}'`);
  return major;
}

/** Parses the CLI flags into simulator options and the optional config path. */
export function parseCli(argv: string[]): { options: SimulatorOptions; writeConfig?: string; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: 'string' },
      nodes: { type: 'string' },
      vms: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      password: { type: 'string' },
      'rdp-port': { type: 'string' },
      'ssh-port': { type: 'string' },
      'no-probe-listeners': { type: 'boolean' },
      'task-delay': { type: 'string' },
      churn: { type: 'string' },
      'no-drift': { type: 'boolean' },
      'control-port': { type: 'string' },
      'auth-delay': { type: 'string' },
      'offline-stale': { type: 'string' },
      'agent-delay': { type: 'string' },
      'agent-start': { type: 'string' },
      'node-layout': { type: 'string' },
      'pve-version': { type: 'string' },
      'write-config': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const options: SimulatorOptions = {
    clusters: int('clusters', values.clusters, 2),
    nodesPerCluster: int('nodes', values.nodes, 3),
    guestsPerCluster: int('vms', values.vms, 100),
    seed: int('seed', values.seed, 1),
    basePort: int('port', values.port, 8006),
    probePorts: {
      rdp: int('rdp-port', values['rdp-port'], 13389),
      ssh: int('ssh-port', values['ssh-port'], 10022),
    },
    probeListeners: values['no-probe-listeners'] !== true,
    taskDelayMs: int('task-delay', values['task-delay'], 1500),
    churnPerMinute: int('churn', values.churn, 0),
    drift: values['no-drift'] !== true,
    controlPort: int('control-port', values['control-port'], 0),
    authFailureDelayMs: int('auth-delay', values['auth-delay'], 0),
    offlineStaleMs: int('offline-stale', values['offline-stale'], 0),
    agentNotRunningDelayMs: int('agent-delay', values['agent-delay'], 0),
    agentStartDelayMs: int('agent-start', values['agent-start'], 0),
    pveVersion: pveVersion(values['pve-version']),
  };
  const layout = values['node-layout'];
  if (layout !== undefined) {
    if (layout !== 'round-robin' && layout !== 'contiguous')
      throw new CliUsageError(`--node-layout must be round-robin or contiguous, got '${layout}'`);
    options.nodeLayout = layout;
  }
  if (values.token !== undefined) {
    const cut = values.token.lastIndexOf('=');
    if (
      cut < 0 ||
      !/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(values.token.slice(0, cut))
    ) {
      throw new CliUsageError("--token must look like 'user@realm!tokenid=secret'");
    }
    options.tokenId = values.token.slice(0, cut);
    options.tokenSecret = values.token.slice(cut + 1);
  }
  if (values.password !== undefined) options.password = values.password;
  const out: { options: SimulatorOptions; writeConfig?: string; help: boolean } = {
    options,
    help: values.help === true,
  };
  if (values['write-config'] !== undefined) out.writeConfig = values['write-config'];
  return out;
}

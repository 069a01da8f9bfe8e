import { isIP, Socket } from 'node:net';

/**
 * TCP reachability probes (RDP and SSH ports of running guests): a connection that is accepted
 * within a short timeout counts as reachable. No byte is sent; the socket is closed at once.
 */

/** Probes one TCP port; resolves true when the connection was accepted within `timeoutMs`. */
export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<boolean>;

/** Default timeout of one probe: LAN round trips are far below it, a filtered port costs only this. */
export const DEFAULT_PROBE_TIMEOUT_MS = 800;
/** Default number of probes in flight at once. */
export const DEFAULT_PROBE_CONCURRENCY = 128;

/** Thrown when a probe target is refused by the address policy (e.g. a non-loopback IP in tests). */
export class ProbeTargetNotAllowedError extends Error {
  override readonly name = 'ProbeTargetNotAllowedError';
}

/** True for 127.0.0.0/8 and ::1: the only targets a simulated cluster may have probed. */
export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1';
}

/** The real probe: `net` connect with a timeout. */
export const tcpProbe: TcpProbe = (host, port, timeoutMs) =>
  new Promise<boolean>((resolve) => {
    const socket = new Socket();
    let settled = false;
    const finish = (reachable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reachable);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.connect({ host, port });
  });

/** One guest to probe. */
export interface ProbeTarget {
  vmid: number;
  ip: string;
}

/** Result per guest. */
export interface ProbeResult {
  rdp: boolean;
  ssh: boolean;
}

/** Options of {@link probeGuests}. */
export interface ProbeGuestsOptions {
  ports: { rdp: number; ssh: number };
  probe?: TcpProbe;
  timeoutMs?: number;
  concurrency?: number;
  /** Address policy: a target it refuses is not probed (reported unreachable). */
  allowAddress?: (ip: string) => boolean;
}

/** Probes the RDP and SSH ports of many guests with bounded concurrency. */
export async function probeGuests(
  targets: readonly ProbeTarget[],
  options: ProbeGuestsOptions,
): Promise<Map<number, ProbeResult>> {
  const probe = options.probe ?? tcpProbe;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const jobs: { vmid: number; ip: string; kind: keyof ProbeResult }[] = [];
  const results = new Map<number, ProbeResult>();
  for (const target of targets) {
    results.set(target.vmid, { rdp: false, ssh: false });
    if (options.allowAddress && !options.allowAddress(target.ip)) continue;
    jobs.push({ ...target, kind: 'rdp' }, { ...target, kind: 'ssh' });
  }
  const queue = jobs.values();
  const worker = async (): Promise<void> => {
    for (const job of queue) {
      const reachable = await probe(job.ip, options.ports[job.kind], timeoutMs).catch(() => false);
      const result = results.get(job.vmid);
      if (result) result[job.kind] = reachable;
    }
  };
  const workers = Math.min(options.concurrency ?? DEFAULT_PROBE_CONCURRENCY, jobs.length);
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

import type { ApiVm } from '#shared/domain/vm-record.ts';
import { ApiVmSchema } from '#shared/domain/vm-record.ts';
import { type LiveServerMessage, LiveServerMessageSchema, type LiveVersions } from '#shared/live/protocol.ts';

/**
 * Live updates in the portal: a WebSocket to the API's live endpoint that keeps the VM list current
 * from pushed deltas, so the list only needs a slow conditional poll as a safety net. Without the
 * endpoint (or while it is down) the list keeps its If-None-Match polling. The merge rule is the
 * protocol's: changed fields over the VM the list holds, whole VMs for new ones, removals dropped,
 * `runtime` frames set CPU/memory of the VMs the list holds (tuples of others are ignored), and a
 * `resync` (or a delta change for a VM the list lacks) means: reload the list.
 */

const keyOf = (vm: { cluster_id: string; vmid: number }): string => `${vm.cluster_id}#${vm.vmid}`;

/** The list after a message, or `reload` when only a fresh list can be trusted. */
export function applyLiveMessage(
  vms: readonly ApiVm[],
  message: LiveServerMessage,
): ApiVm[] | 'reload' | null {
  if (message.type === 'resync') return 'reload';
  if (message.type === 'runtime') return applyRuntimeFrame(vms, message.cluster, message.vms);
  if (message.type !== 'delta') return null;
  const byKey = new Map(vms.map((vm) => [keyOf(vm), vm]));
  for (const key of message.removed) byKey.delete(keyOf(key));
  for (const change of message.vms) {
    const known = byKey.get(keyOf(change));
    if (known !== undefined) {
      byKey.set(keyOf(change), { ...known, ...change });
      continue;
    }
    const whole = ApiVmSchema.safeParse(change);
    if (!whole.success) return 'reload';
    byKey.set(keyOf(change), whole.data);
  }
  // The list's order: (cluster_id, vmid).
  return [...byKey.values()].sort((a, b) =>
    a.cluster_id === b.cluster_id ? a.vmid - b.vmid : a.cluster_id < b.cluster_id ? -1 : 1,
  );
}

/** CPU/memory of the listed VMs in a `runtime` frame; the list's order and other VMs unchanged. */
function applyRuntimeFrame(
  vms: readonly ApiVm[],
  cluster: string,
  tuples: readonly (readonly [number, number, number])[],
): ApiVm[] {
  const figures = new Map(tuples.map(([vmid, cpu, memory]) => [vmid, { cpu, memory }]));
  return vms.map((vm) => {
    const moved = vm.cluster_id === cluster ? figures.get(vm.vmid) : undefined;
    return moved === undefined ? vm : { ...vm, cpu_usage: moved.cpu, memory_usage: moved.memory };
  });
}

/** Options of {@link openLiveUpdates}. */
export interface LiveUpdatesOptions {
  /** `wss://…/prod` or `ws://localhost:8080/ws` */
  readonly url: string;
  readonly token: string;
  readonly onMessage: (message: LiveServerMessage) => void;
  /** Connected (true) or not (false): the list polls while false. */
  readonly onStatus: (connected: boolean) => void;
  /**
   * The highest version seen per cluster, kept across connections: updated from every `hello`,
   * `delta`, `runtime` and `resync`. With `resume`, the `hello` sends it so the server replays what was missed.
   */
  readonly versions?: LiveVersions;
  readonly resume?: boolean;
  /** @default the browser's WebSocket */
  readonly WebSocketImpl?: typeof WebSocket;
}

/** An open live connection. */
export interface LiveConnection {
  /** Sends a fresh access token for the same user (before the current one expires). */
  reauth(token: string): void;
  close(): void;
}

/** Opens the connection, says hello (resuming from the versions seen), pings every 5 minutes. */
export function openLiveUpdates(options: LiveUpdatesOptions): LiveConnection {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const versions: LiveVersions = options.versions ?? {};
  const seen = (cluster: string, version: number) => {
    versions[cluster] = Math.max(versions[cluster] ?? 0, version);
  };
  let socket: WebSocket;
  try {
    socket = new Impl(`${options.url}?token=${encodeURIComponent(options.token)}`);
  } catch {
    // A malformed URL (or a blocked scheme): no socket, the list polls.
    queueMicrotask(() => options.onStatus(false));
    return { reauth: () => {}, close: () => {} };
  }
  let ping: ReturnType<typeof setInterval> | undefined;
  let open = false;
  const send = (message: object) => {
    if (open) socket.send(JSON.stringify(message));
  };
  socket.addEventListener('open', () => {
    open = true;
    const resume = options.resume === true && Object.keys(versions).length > 0;
    send(resume ? { action: 'hello', versions: { ...versions } } : { action: 'hello' });
    ping = setInterval(() => send({ action: 'ping' }), 5 * 60_000);
    options.onStatus(true);
  });
  socket.addEventListener('message', (event) => {
    let json: unknown;
    try {
      json = JSON.parse(String(event.data));
    } catch {
      return;
    }
    const parsed = LiveServerMessageSchema.safeParse(json);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'delta' || message.type === 'runtime' || message.type === 'resync')
      seen(message.cluster, message.version);
    if (message.type === 'hello')
      for (const [cluster, version] of Object.entries(message.versions)) seen(cluster, version);
    options.onMessage(message);
  });
  socket.addEventListener('close', () => {
    open = false;
    if (ping !== undefined) clearInterval(ping);
    options.onStatus(false);
  });
  return {
    reauth: (token) => send({ action: 'reauth', token }),
    close: () => socket.close(),
  };
}

import type { ApiVm } from '#shared/domain/vm-record.ts';
import { ApiVmSchema } from '#shared/domain/vm-record.ts';
import { type LiveServerMessage, LiveServerMessageSchema, type LiveVersions } from '#shared/live/protocol.ts';

/**
 * Live updates in the portal: a WebSocket to the API's live endpoint that keeps the VM list current
 * from pushed deltas, so the list only needs a slow conditional poll as a safety net. Without the
 * endpoint (or while it is down) the list keeps its If-None-Match polling. The merge rule is the
 * protocol's: changed fields over the VM the list holds, whole VMs for new ones, removals dropped,
 * and a `resync` (or a change for a VM the list lacks) means: reload the list.
 */

const keyOf = (vm: { cluster_id: string; vmid: number }): string => `${vm.cluster_id}#${vm.vmid}`;

/** The list after a message, or `reload` when only a fresh list can be trusted. */
export function applyLiveMessage(
  vms: readonly ApiVm[],
  message: LiveServerMessage,
): ApiVm[] | 'reload' | null {
  if (message.type === 'resync') return 'reload';
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

/** Options of {@link openLiveUpdates}. */
export interface LiveUpdatesOptions {
  /** `wss://…/prod` or `ws://localhost:8080/ws` */
  readonly url: string;
  readonly token: string;
  readonly onMessage: (message: LiveServerMessage) => void;
  /** Connected (true) or not (false): the list polls fast while false. */
  readonly onStatus: (connected: boolean) => void;
  /** @default the browser's WebSocket */
  readonly WebSocketImpl?: typeof WebSocket;
}

/** Opens the connection, says hello (resuming from the versions seen), pings every 5 minutes. */
export function openLiveUpdates(options: LiveUpdatesOptions): { close(): void } {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const versions: LiveVersions = {};
  const socket = new Impl(`${options.url}?token=${encodeURIComponent(options.token)}`);
  let ping: ReturnType<typeof setInterval> | undefined;
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ action: 'hello' }));
    ping = setInterval(() => socket.send(JSON.stringify({ action: 'ping' })), 5 * 60_000);
    options.onStatus(true);
  });
  socket.addEventListener('message', (event) => {
    const parsed = LiveServerMessageSchema.safeParse(JSON.parse(String(event.data)));
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'delta' || message.type === 'resync')
      versions[message.cluster] = Math.max(versions[message.cluster] ?? 0, message.version);
    options.onMessage(message);
  });
  socket.addEventListener('close', () => {
    if (ping !== undefined) clearInterval(ping);
    options.onStatus(false);
  });
  return { close: () => socket.close() };
}

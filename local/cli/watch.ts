import WebSocket from 'ws';
import { type LiveServerMessage, LiveServerMessageSchema } from '#shared/live/protocol.ts';

/**
 * `pve-inventory watch`: connects to the live updates' WebSocket API with the CLI's token and prints
 * each change as it arrives (one line per VM change, removal or resync, one line per CPU/memory
 * `runtime` frame saying how many VMs moved — with `--verbose` also their figures —; `--json`: one
 * message per line). Keeps the connection alive with an application ping every 5 minutes.
 */

/** Options of {@link watchLive}. */
export interface WatchOptions {
  /** e.g. ws://127.0.0.1:8080/ws */
  readonly url: string;
  readonly token: string;
  /** Only this cluster's changes. */
  readonly cluster?: string | undefined;
  readonly json: boolean;
  /** Runtime frames with each VM's figures, not only how many moved. */
  readonly verbose?: boolean;
  /** Stop after this long (ms); until interrupted when absent. */
  readonly forMs?: number | undefined;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const PING_INTERVAL_MS = 5 * 60_000;

function value(field: unknown): string {
  return typeof field === 'string' ? field : JSON.stringify(field);
}

/** The lines a message prints as (none for `pong`). */
export function formatLiveMessage(
  message: LiveServerMessage,
  now: Date = new Date(),
  options: { verbose?: boolean } = {},
): string[] {
  const time = now.toISOString().slice(11, 19);
  switch (message.type) {
    case 'hello':
      return [
        `${time} connected; versions ${
          Object.entries(message.versions)
            .map(([cluster, version]) => `${cluster}=${version}`)
            .join(' ') || '(none yet)'
        }; token valid until ${message.expires_at}`,
      ];
    case 'delta':
      return [
        ...message.vms.map((vm) => {
          const { cluster_id, vmid, ...fields } = vm;
          const text = Object.entries(fields)
            .map(([name, field]) => `${name}=${value(field)}`)
            .join(' ');
          return `${time} ${cluster_id}/${vmid} v${message.version} ${text}`;
        }),
        ...message.removed.map((key) => `${time} ${key.cluster_id}/${key.vmid} v${message.version} removed`),
      ];
    case 'runtime': {
      const count = `${message.vms.length} VM${message.vms.length === 1 ? '' : 's'}`;
      const figures =
        options.verbose === true
          ? `: ${message.vms.map(([vmid, cpu, memory]) => `${vmid} cpu=${cpu}% mem=${memory}%`).join(', ')}`
          : '';
      return [`${time} ${message.cluster} v${message.version} cpu/memory of ${count}${figures}`];
    }
    case 'resync':
      return [`${time} ${message.cluster} v${message.version} resync (${message.reason}): reload the list`];
    case 'reauth':
      return [`${time} token renewed until ${message.expires_at}`];
    case 'error':
      return [`${time} error (${message.code}): ${message.message}`];
    case 'pong':
      return [];
  }
}

/** Watches until the time is up (exit 0) or the server closes the connection (exit 1). */
export function watchLive(options: WatchOptions): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(options.url, ['bearer', options.token]);
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (code: number) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.close();
      resolve(code);
    };
    ws.on('unexpected-response', (_request, response) => {
      options.stderr(`error: the live updates refused the connection (HTTP ${response.statusCode ?? '?'})\n`);
      finish(1);
    });
    ws.on('error', (error) => {
      options.stderr(`error: ${error.message}\n`);
      finish(1);
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ action: 'hello' }));
      timers.push(setInterval(() => ws.send(JSON.stringify({ action: 'ping' })), PING_INTERVAL_MS));
      if (options.forMs !== undefined) timers.push(setTimeout(() => finish(0), options.forMs));
    });
    ws.on('message', (data) => {
      const parsed = LiveServerMessageSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) return;
      const message = parsed.data;
      if (options.cluster !== undefined && 'cluster' in message && message.cluster !== options.cluster)
        return;
      if (options.json) {
        if (message.type !== 'pong') options.stdout(`${JSON.stringify(message)}\n`);
        return;
      }
      for (const line of formatLiveMessage(message, new Date(), { verbose: options.verbose === true }))
        options.stdout(`${line}\n`);
    });
    ws.on('close', (code, reason) => {
      if (done) return;
      options.stderr(`connection closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})\n`);
      finish(1);
    });
  });
}

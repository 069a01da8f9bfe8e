import WebSocket from 'ws';
import { type LiveServerMessage, LiveServerMessageSchema } from '#shared/live/protocol.ts';

/**
 * A WebSocket client of the live protocol for tests: connects (resolving once open, or rejecting
 * with the HTTP status of a refused upgrade), keeps every message received (validated with the
 * protocol's schema) and waits for the next one that matches.
 */
export interface LiveTestClient {
  readonly messages: LiveServerMessage[];
  send(message: unknown): void;
  /** The first message from `from` on (default: the next unread) that matches; fails after `timeoutMs`. */
  waitFor<T extends LiveServerMessage>(
    match: (message: LiveServerMessage) => message is T,
    timeoutMs?: number,
  ): Promise<T>;
  waitFor(match: (message: LiveServerMessage) => boolean, timeoutMs?: number): Promise<LiveServerMessage>;
  /** Resolves with the close code once the server closes the connection. */
  readonly closed: Promise<number>;
  isOpen(): boolean;
  close(): Promise<void>;
}

/** Refused upgrade: the HTTP status the server answered. */
export class LiveConnectRefusedError extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with ${status}`);
  }
}

export async function connectLive(
  url: string,
  token: string,
  options: { via?: 'query' | 'protocol' } = {},
): Promise<LiveTestClient> {
  const ws =
    options.via === 'protocol'
      ? new WebSocket(url, ['bearer', token])
      : new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
  const messages: LiveServerMessage[] = [];
  const listeners = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(LiveServerMessageSchema.parse(JSON.parse(data.toString())));
    for (const listener of listeners) listener();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) =>
      reject(new LiveConnectRefusedError(response.statusCode ?? 0)),
    );
    ws.once('error', (error) => reject(error));
  });
  let read = 0;
  const waitFor = (match: (message: LiveServerMessage) => boolean, timeoutMs = 30_000) =>
    new Promise<LiveServerMessage>((resolve, reject) => {
      const check = () => {
        while (read < messages.length) {
          const message = messages[read] as LiveServerMessage;
          read += 1;
          if (match(message)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(message);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(
          new Error(
            `no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 2000)}`,
          ),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return {
    messages,
    send: (message) => ws.send(JSON.stringify(message)),
    waitFor: waitFor as LiveTestClient['waitFor'],
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

import { connect } from 'node:net';
import { Agent, request } from 'undici';
import type { SimulatedCluster } from '#simulator/index.ts';

/** A raw response: status, reason phrase, body text. */
export interface RawResponse {
  status: number;
  reason: string;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Minimal HTTPS caller for the simulator, trusting the cluster's certificate as CA (not the project client). */
export class SimClient {
  readonly agent: Agent;

  constructor(readonly cluster: SimulatedCluster) {
    this.agent = new Agent({ connect: { ca: cluster.certPem }, pipelining: 0 });
  }

  get tokenHeader(): string {
    return `PVEAPIToken=${this.cluster.tokenId}=${this.cluster.tokenSecret}`;
  }

  async call(
    path: string,
    opts: {
      method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS';
      headers?: Record<string, string>;
      body?: string;
      base?: string;
      auth?: boolean;
      headersTimeout?: number;
    } = {},
  ): Promise<RawResponse> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.auth !== false && headers.authorization === undefined && headers.cookie === undefined) {
      headers.authorization = this.tokenHeader;
    }
    const res = await request(`${opts.base ?? this.cluster.url}/api2/json${path}`, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body ?? null,
      dispatcher: this.agent,
      headersTimeout: opts.headersTimeout ?? 10_000,
      bodyTimeout: opts.headersTimeout ?? 10_000,
    });
    const text = await res.body.text();
    return { status: res.statusCode, reason: res.statusText, text, headers: res.headers };
  }

  /** GET and return the `data` of the envelope, asserting status 200. */
  async data(path: string): Promise<unknown> {
    const r = await this.call(path);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.reason}`);
    const parsed: unknown = JSON.parse(r.text);
    if (parsed === null || typeof parsed !== 'object' || !('data' in parsed))
      throw new Error(`${path}: no envelope`);
    return parsed.data;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Resolves 'connected' (with the first bytes) or the connect error code. */
export function tcpProbe(
  host: string,
  port: number,
): Promise<{ ok: true; greeting: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let greeting = '';
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      // A TLS server waits silently for a handshake: give up listening for a greeting after a while.
      socket.setTimeout(500, () => socket.destroy());
    });
    socket.on('data', (d) => {
      greeting += d.toString();
    });
    socket.on('close', () => {
      if (connected) resolve({ ok: true, greeting });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) resolve({ ok: false, code: err.code ?? err.message });
    });
  });
}

/** POSTs JSON to the simulator's control API. */
export async function control(
  baseUrl: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await request(`${baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const json: unknown = await res.body.json();
  return { status: res.statusCode, json };
}

/** A row-like object from parsed JSON. */
export type Row = Record<string, unknown>;

/** Narrows parsed JSON to an array of rows. */
export function rows(value: unknown): Row[] {
  if (!Array.isArray(value)) throw new Error('expected an array');
  return value.filter((v): v is Row => v !== null && typeof v === 'object');
}

/** Narrows parsed JSON to one row. */
export function row(value: unknown): Row {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('expected an object');
  return Object.fromEntries(Object.entries(value));
}

import { inspect } from 'node:util';
import { type ClusterConfig, parseClustersFile } from '#shared/config/clusters.ts';
import type { HttpDispatcher, HttpResponse } from '#shared/proxmox/client.ts';
import type { ProxmoxLogger } from '#shared/proxmox/gateway.ts';

export const SECRET = '5f0c1a2b-3d4e-4f56-8a9b-0c1d2e3f4a5b';
export const TOKEN_ID = 'svc@pve!sync';
export const ORIGIN_1 = 'https://pve1.example.org:8006';
export const ORIGIN_2 = 'https://pve2.example.org:8006';

/** A parsed cluster config with two documentation-only endpoints (never contacted: tests mock them). */
export function testCluster(overrides: Record<string, unknown> = {}): ClusterConfig {
  const file = parseClustersFile(
    {
      clusters: [
        {
          id: 'lab',
          name: 'Lab',
          endpoints: [{ url: ORIGIN_1 }, { url: ORIGIN_2 }],
          tokenId: TOKEN_ID,
          tokenSecret: { env: 'PVE_TOKEN' },
          ...overrides,
        },
      ],
    },
    'test.json',
  );
  const cluster = file.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  return cluster;
}

/** A logger that keeps every line, with its attributes, for assertions. */
export function recordingLogger(): ProxmoxLogger & { lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

/** Every text an error exposes: message, stack, own properties (hidden ones too), cause chain, JSON. */
export function everythingIn(error: unknown): string {
  const parts: string[] = [String(error), inspect(error, { depth: 8, showHidden: true })];
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      parts.push(value);
      return;
    }
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    try {
      parts.push(JSON.stringify(value));
    } catch {
      // Circular structures: the walk below still covers their properties.
    }
    for (const key of Object.getOwnPropertyNames(value)) walk(Reflect.get(value, key));
  };
  walk(error);
  return parts.join('\n');
}

/** A scripted response for {@link FakeDispatcher}. */
export type FakeReply =
  | { status: number; statusText?: string; body?: string }
  | { error: Error & { code?: string } };

/** A dispatcher answering from a script, recording requests and the peak number in flight per path prefix. */
export class FakeDispatcher implements HttpDispatcher {
  readonly requests: { origin: string; path: string; method: string; authorization: string | undefined }[] =
    [];
  inFlight = 0;
  peakInFlight = 0;
  private readonly pending: (() => void)[] = [];

  constructor(
    private readonly reply: (req: { origin: string; path: string; method: string }) => FakeReply,
    private readonly hold = false,
  ) {}

  async request(options: Parameters<HttpDispatcher['request']>[0]): Promise<HttpResponse> {
    const origin = String(options.origin);
    const headers = options.headers;
    let authorization: string | undefined;
    if (headers !== null && headers !== undefined && !Array.isArray(headers) && typeof headers === 'object') {
      const value: unknown = Reflect.get(headers, 'authorization');
      if (typeof value === 'string') authorization = value;
    }
    const req = { origin, path: options.path, method: options.method };
    this.requests.push({ ...req, authorization });
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve));
      const r = this.reply(req);
      if ('error' in r) throw r.error;
      return {
        statusCode: r.status,
        statusText: r.statusText ?? '',
        body: { text: async () => r.body ?? '' },
      };
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Lets the oldest held request answer. */
  releaseOne(): boolean {
    const next = this.pending.shift();
    next?.();
    return next !== undefined;
  }

  get waiting(): number {
    return this.pending.length;
  }

  async close(): Promise<void> {}
}

/** An error shaped like Node's connection refusal. */
export function refused(): Error & { code: string } {
  return Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:8006'), { code: 'ECONNREFUSED' });
}

/** JSON success body. */
export function ok(data: unknown): FakeReply {
  return { status: 200, statusText: 'OK', body: JSON.stringify({ data }) };
}

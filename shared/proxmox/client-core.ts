import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { type ClusterConfig, ClusterConfigError } from '#shared/config/clusters.ts';
import { type EndpointClass, emptyCallCounts } from '#shared/proxmox/endpoint-class.ts';
import {
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  type ProxmoxError,
  type ProxmoxErrorContext,
  ProxmoxInvalidResponseError,
  ProxmoxNodeUnreachableError,
  ProxmoxNotFoundError,
  ProxmoxPermissionError,
  ProxmoxTimeoutError,
  ProxmoxTlsError,
} from '#shared/proxmox/errors.ts';
import type {
  ClusterResources,
  GuestKind,
  PowerAction,
  ProxmoxGateway,
  ProxmoxLogger,
  TaskOutcome,
  WaitForTaskOptions,
} from '#shared/proxmox/gateway.ts';
import {
  AgentInterfacesSchema,
  ClusterResourcesSchema,
  ClusterStatusSchema,
  ErrorBodySchema,
  GuestConfigSchema,
  GuestStatusSchema,
  LxcInterfacesSchema,
  NodeListSchema,
  nodeOfUpid,
  TaskStatusSchema,
  UpidSchema,
  VersionSchema,
} from '#shared/proxmox/schemas.ts';
import {
  type HttpDispatcher,
  type HttpResponse,
  type TlsVerification,
  TRANSPORT_ERROR_CODES,
  type TransportFactory,
} from '#shared/proxmox/transport.ts';

export type { HttpDispatcher, HttpResponse, TransportFactory };

/** Headers and body timeouts of one call class, in ms. */
export interface ClassTimeouts {
  headersMs: number;
  bodyMs: number;
}

/**
 * Default timeouts per call class. Agent calls may legitimately take 3 s (guest-ping) + 5 s (QMP);
 * power actions only create a task; everything node-proxied may wait behind 3 busy workers.
 */
export const DEFAULT_TIMEOUTS: Readonly<Record<EndpointClass, ClassTimeouts>> = {
  version: { headersMs: 5_000, bodyMs: 5_000 },
  resources: { headersMs: 15_000, bodyMs: 15_000 },
  cluster_status: { headersMs: 10_000, bodyMs: 10_000 },
  nodes: { headersMs: 10_000, bodyMs: 10_000 },
  node_status: { headersMs: 10_000, bodyMs: 10_000 },
  config: { headersMs: 10_000, bodyMs: 10_000 },
  status: { headersMs: 10_000, bodyMs: 10_000 },
  agent: { headersMs: 12_000, bodyMs: 10_000 },
  interfaces: { headersMs: 10_000, bodyMs: 10_000 },
  power: { headersMs: 15_000, bodyMs: 10_000 },
  task: { headersMs: 10_000, bodyMs: 10_000 },
  pools: { headersMs: 10_000, bodyMs: 10_000 },
  other: { headersMs: 10_000, bodyMs: 10_000 },
};

/** Dependencies and tuning of a Proxmox client (see {@link createClientOnTransport}). */
export interface ProxmoxClientDeps {
  /** The resolved API token secret (see resolveTokenSecret); kept only in a closure. */
  tokenSecret: string;
  logger?: ProxmoxLogger;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /** Wait (default setTimeout); injected so tests need not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Random source for jitter (default Math.random). */
  random?: () => number;
  /** Per-class overrides of {@link DEFAULT_TIMEOUTS}. */
  timeouts?: Partial<Record<EndpointClass, Partial<ClassTimeouts>>>;
  /** TCP + TLS connect timeout per endpoint (default 5 000 ms). */
  connectTimeoutMs?: number;
  /** Retries of idempotent GETs on transient failures (default 2 retries, 250 ms base, 2 s cap, full jitter). */
  retry?: { retries?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** How long an endpoint that failed to connect is skipped (default 30 000 ms). */
  endpointCooldownMs?: number;
  /** Use this dispatcher for every endpoint instead of the transport's (tests: undici MockAgent). */
  dispatcher?: HttpDispatcher;
}

/** A {@link ProxmoxGateway} over an HTTP transport. */
export type ProxmoxClient = ProxmoxGateway;

interface Endpoint {
  origin: string;
  dispatcher: HttpDispatcher;
  downUntil: number;
}

interface CallSpec<S extends z.ZodType> {
  cls: EndpointClass;
  method: 'GET' | 'POST';
  path: string;
  /** Node whose daemons serve the call (node-proxied calls), for the in-flight limit and errors. */
  node?: string;
  schema: S;
}

/** Failure before any byte of the request could have been processed: safe to try another endpoint. */
type EndpointFailure = { kind: 'connect' | 'connect-timeout' | 'tls'; error: unknown };

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function classifyEndpointFailure(error: unknown): EndpointFailure | null {
  const code = errorCode(error);
  if (code === undefined) return null;
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === TRANSPORT_ERROR_CODES.connectTimeout)
    return { kind: 'connect-timeout', error };
  if (CONNECT_CODES.has(code)) return { kind: 'connect', error };
  if (code === 'ERR_PVE_CERT_PIN_MISMATCH' || /CERT|SSL|TLS|UNABLE_TO_|SELF_SIGNED/.test(code))
    return { kind: 'tls', error };
  return null;
}

/** A counting semaphore: at most `limit` holders at once, FIFO. */
class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active -= 1;
    };
  }
}

/** Why a pinned fingerprint stops matching, and the durable alternative. */
const PIN_MISMATCH_HINT =
  " - the node's certificate changed, most likely renewed by Proxmox VE (it renews self-signed node" +
  ' certificates before they expire): check and pin the new fingerprint, or set tls.caFile to the' +
  " cluster's pve-root-ca.pem, which survives renewals";

const PERMISSION_TEXT = /Permission check failed \(([^,)]+),\s*([^)]+)\)/;
const NOT_FOUND_TEXT =
  /does not exist|no such (vm|task|node|container|resource|pool)|unable to get remote IP address for node|hostname lookup .* failed/i;
const AGENT_PRIVILEGES = 'VM.Monitor (PVE 8) or VM.GuestAgent.Audit (PVE 9)';

/**
 * What to do about a 403 on a guest-agent call, from the privilege the answering node asked for:
 * PVE 9 nodes name VM.GuestAgent.*, PVE 8 nodes VM.Monitor. A role written for PVE 8 silently loses
 * VM.Monitor in the upgrade to 9, and while a cluster is part-way through it each node checks its
 * own name, so the role needs both.
 */
export function agentPermissionHint(privilege: string | undefined): string {
  if (privilege?.includes('VM.GuestAgent') === true) {
    return (
      ' - PVE 9 replaced VM.Monitor with VM.GuestAgent.Audit and a role made for PVE 8 lost it in the' +
      ' upgrade: pveum role modify <role> --privs VM.GuestAgent.Audit --append 1 (mid-upgrade: keep VM.Monitor too)'
    );
  }
  if (privilege?.includes('VM.Monitor') === true) {
    return (
      " - add VM.Monitor to the token's role: pveum role modify <role> --privs VM.Monitor --append 1" +
      ' (mid-upgrade to 9: add VM.GuestAgent.Audit too)'
    );
  }
  return ` - guest agent calls need ${AGENT_PRIVILEGES} on the VM`;
}
const CLASS_PRIVILEGE: Partial<Record<EndpointClass, string>> = {
  cluster_status: 'Sys.Audit',
  node_status: 'Sys.Audit',
  config: 'VM.Audit',
  status: 'VM.Audit',
  interfaces: 'VM.Audit',
  agent: AGENT_PRIVILEGES,
  power: 'VM.PowerMgmt',
  pools: 'Pool.Audit',
};

/**
 * Creates the Proxmox VE API client of one cluster on a transport: one keep-alive connection pool
 * per endpoint (made by `transport`) with failover, PVEAPIToken auth, per-class timeouts, at most `maxInFlightPerNode` node-proxied calls per
 * node, jittered retries of idempotent GETs on transient failures, typed errors and call counters.
 * The token secret lives only in this closure and the Authorization header; every text that reaches
 * an error or a log line is scrubbed of it.
 */
export function createClientOnTransport(
  cluster: ClusterConfig,
  deps: ProxmoxClientDeps,
  transport: TransportFactory,
): ProxmoxClient {
  const secret = deps.tokenSecret;
  if (!/^[\x21-\x7e]{1,512}$/.test(secret)) {
    throw new ClusterConfigError(`cluster ${cluster.id}`, [
      'tokenSecret: has characters that cannot be sent in a header',
    ]);
  }
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const logger = deps.logger;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 5_000;
  const retries = deps.retry?.retries ?? 2;
  const baseDelayMs = deps.retry?.baseDelayMs ?? 250;
  const maxDelayMs = deps.retry?.maxDelayMs ?? 2_000;
  const cooldownMs = deps.endpointCooldownMs ?? 30_000;
  const authorization = `PVEAPIToken=${cluster.tokenId}=${secret}`;

  /** Removes the secret (and the whole header value) from any text before it leaves the client. */
  const scrub = (text: string): string =>
    text.split(authorization).join('PVEAPIToken=***').split(secret).join('***');

  const tlsMode = cluster.tls;
  let caPem: string | undefined = tlsMode?.caPem;
  if (tlsMode?.caFile !== undefined && deps.dispatcher === undefined) {
    try {
      caPem = readFileSync(tlsMode.caFile, 'utf8');
    } catch (error) {
      throw new ClusterConfigError(`cluster ${cluster.id}`, [`tls.caFile: cannot read ${tlsMode.caFile}`], {
        cause: error,
      });
    }
  }
  if (tlsMode?.insecure === true) {
    logger?.warn('TLS certificate verification is DISABLED for this cluster (tls.insecure: true)', {
      clusterId: cluster.id,
    });
  }

  const endpoints: Endpoint[] = cluster.endpoints.map((ep) => {
    const origin = new URL(ep.url).origin;
    let tls: TlsVerification;
    if (ep.fingerprint !== undefined) tls = { mode: 'pinned', fingerprint: ep.fingerprint };
    else if (tlsMode?.insecure === true) tls = { mode: 'insecure' };
    else if (caPem !== undefined) tls = { mode: 'ca', caPem };
    else tls = { mode: 'system' };
    const dispatcher = deps.dispatcher ?? transport({ origin, tls, connectTimeoutMs });
    return { origin, dispatcher, downUntil: 0 };
  });

  const nodeLimits = new Map<string, Semaphore>();
  const limiterFor = (node: string): Semaphore => {
    let s = nodeLimits.get(node);
    if (!s) {
      s = new Semaphore(cluster.maxInFlightPerNode);
      nodeLimits.set(node, s);
    }
    return s;
  };

  let counts = emptyCallCounts();
  const count = (cls: EndpointClass): void => {
    counts[cls] += 1;
    counts.total += 1;
  };

  const timeoutsFor = (cls: EndpointClass): ClassTimeouts => ({
    ...DEFAULT_TIMEOUTS[cls],
    ...deps.timeouts?.[cls],
  });

  const context = (
    spec: { cls: EndpointClass; node?: string },
    extra: Partial<ProxmoxErrorContext> = {},
  ) => ({
    clusterId: cluster.id,
    endpointClass: spec.cls,
    ...(spec.node === undefined ? {} : { node: spec.node }),
    ...extra,
  });

  const describe = (spec: { method: string; path: string }): string =>
    `${cluster.id}: ${spec.method} ${spec.path}`;

  /**
   * A copy of a transport error that keeps its name, code and (scrubbed) message, so the error's
   * `cause` can be logged or serialized without carrying anything else from the request.
   */
  const safeCause = (error: unknown): Error => {
    const copy = new Error(error instanceof Error ? scrub(error.message) : 'unknown error');
    copy.name = error instanceof Error ? error.name : 'Error';
    const code = errorCode(error);
    if (code !== undefined) Object.defineProperty(copy, 'code', { value: code, enumerable: true });
    copy.stack = `${copy.name}: ${copy.message}`;
    return copy;
  };

  /** Endpoints to try: healthy ones in configured order, then cooling ones, soonest-back first. */
  const endpointOrder = (): Endpoint[] => {
    const t = now();
    const healthy = endpoints.filter((e) => e.downUntil <= t);
    const cooling = endpoints.filter((e) => e.downUntil > t).sort((a, b) => a.downUntil - b.downUntil);
    return [...healthy, ...cooling];
  };

  const httpError = (
    spec: CallSpec<z.ZodType>,
    status: number,
    reason: string,
    bodyText: string,
  ): ProxmoxError => {
    let message: string | undefined;
    let paramErrors = '';
    try {
      const parsed = ErrorBodySchema.safeParse(JSON.parse(bodyText));
      if (parsed.success) {
        message = parsed.data.message;
        if (parsed.data.errors) {
          paramErrors = Object.entries(parsed.data.errors)
            .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join('; ');
        }
      }
    } catch {
      // Not JSON (595s and 401s have no body): the reason phrase carries the text.
    }
    const text = scrub(
      [message?.trim() || reason.trim() || `HTTP ${status}`, paramErrors].filter((s) => s !== '').join(' - '),
    ).slice(0, 500);
    const ctx = context(spec, { status });
    const where = describe(spec);
    if (status === 401) return new ProxmoxAuthError(`${where}: authentication failed (401 ${text})`, ctx);
    if (status === 403) {
      const m = PERMISSION_TEXT.exec(text);
      const privilege = m?.[2]?.trim() ?? CLASS_PRIVILEGE[spec.cls];
      const aclPath = m?.[1]?.trim();
      const hint =
        spec.cls === 'agent'
          ? agentPermissionHint(m?.[2])
          : privilege === undefined
            ? ''
            : ` - the token needs ${privilege}${aclPath === undefined ? '' : ` on ${aclPath}`}`;
      return new ProxmoxPermissionError(`${where}: permission denied (403 ${text})${hint}`, {
        ...ctx,
        ...(privilege === undefined ? {} : { privilege }),
        ...(aclPath === undefined ? {} : { aclPath }),
      });
    }
    if (status === 595 || status === 596) {
      return new ProxmoxNodeUnreachableError(
        `${where}: node ${spec.node ?? '(unknown)'} unreachable from the contacted endpoint (${status} ${text})`,
        ctx,
      );
    }
    if (status === 404 || NOT_FOUND_TEXT.test(text))
      return new ProxmoxNotFoundError(`${where}: not found (${status} ${text})`, ctx);
    return new ProxmoxApiError(`${where}: ${status} ${text}`, { ...ctx, serverMessage: text });
  };

  const transportError = (spec: CallSpec<z.ZodType>, error: unknown): ProxmoxError => {
    const code = errorCode(error) ?? 'UNKNOWN';
    const where = describe(spec);
    const t = timeoutsFor(spec.cls);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === TRANSPORT_ERROR_CODES.headersTimeout)
      return new ProxmoxTimeoutError(`${where}: no response headers within ${t.headersMs} ms`, {
        ...context(spec, { cause: safeCause(error) }),
        phase: 'headers',
        timeoutMs: t.headersMs,
      });
    if (code === 'UND_ERR_BODY_TIMEOUT' || code === TRANSPORT_ERROR_CODES.bodyTimeout)
      return new ProxmoxTimeoutError(`${where}: response body stalled for ${t.bodyMs} ms`, {
        ...context(spec, { cause: safeCause(error) }),
        phase: 'body',
        timeoutMs: t.bodyMs,
      });
    const text = error instanceof Error ? scrub(error.message) : 'unknown error';
    return new ProxmoxConnectionError(
      `${where}: connection failed (${code}: ${text})`,
      context(spec, { cause: safeCause(error) }),
    );
  };

  const allEndpointsFailed = (spec: CallSpec<z.ZodType>, failures: EndpointFailure[]): ProxmoxError => {
    const last = failures[failures.length - 1];
    const where = describe(spec);
    const summary = failures
      .map((f) => `${errorCode(f.error) ?? f.kind}`)
      .join(', ')
      .slice(0, 300);
    const ctx = context(spec, last === undefined ? {} : { cause: safeCause(last.error) });
    if (last?.kind === 'tls') {
      const text = last.error instanceof Error ? scrub(last.error.message) : 'TLS failure';
      const hint = errorCode(last.error) === 'ERR_PVE_CERT_PIN_MISMATCH' ? PIN_MISMATCH_HINT : '';
      return new ProxmoxTlsError(`${where}: TLS verification failed (${text})${hint}`, ctx);
    }
    if (last?.kind === 'connect-timeout')
      return new ProxmoxTimeoutError(
        `${where}: no endpoint connected within ${connectTimeoutMs} ms (${summary})`,
        {
          ...ctx,
          phase: 'connect',
          timeoutMs: connectTimeoutMs,
        },
      );
    return new ProxmoxConnectionError(
      `${where}: no endpoint of the cluster accepted a connection (${summary})`,
      ctx,
    );
  };

  /** One attempt: failover across endpoints for failures that happen before the request is sent. */
  const attempt = async <S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S>> => {
    const t = timeoutsFor(spec.cls);
    const failures: EndpointFailure[] = [];
    for (const ep of endpointOrder()) {
      let response: HttpResponse;
      try {
        response = await ep.dispatcher.request({
          origin: ep.origin,
          path: `/api2/json${spec.path}`,
          method: spec.method,
          headers: { authorization, accept: 'application/json' },
          headersTimeout: t.headersMs,
          bodyTimeout: t.bodyMs,
        });
      } catch (error) {
        const failure = classifyEndpointFailure(error);
        if (failure === null) {
          count(spec.cls);
          throw transportError(spec, error);
        }
        failures.push(failure);
        ep.downUntil = now() + cooldownMs;
        logger?.warn('Proxmox endpoint failed, trying the next one', {
          clusterId: cluster.id,
          endpoint: ep.origin,
          endpointClass: spec.cls,
          reason: errorCode(failure.error) ?? failure.kind,
          cooldownMs,
        });
        continue;
      }
      count(spec.cls);
      ep.downUntil = 0;
      let bodyText: string;
      try {
        bodyText = await response.body.text();
      } catch (error) {
        throw transportError(spec, error);
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw httpError(spec, response.statusCode, response.statusText ?? '', bodyText);
      }
      let json: unknown;
      try {
        json = JSON.parse(bodyText);
      } catch {
        throw new ProxmoxInvalidResponseError(`${describe(spec)}: response is not JSON`, {
          ...context(spec, { status: response.statusCode }),
          problem: 'not JSON',
        });
      }
      const envelope = typeof json === 'object' && json !== null && 'data' in json ? json.data : undefined;
      if (envelope === undefined) {
        throw new ProxmoxInvalidResponseError(`${describe(spec)}: response has no "data" field`, {
          ...context(spec, { status: response.statusCode }),
          problem: 'no data field',
        });
      }
      const parsed = spec.schema.safeParse(envelope);
      if (!parsed.success) {
        const problem = parsed.error.issues
          .slice(0, 5)
          .map(
            (i) =>
              `data${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
          )
          .join('; ');
        throw new ProxmoxInvalidResponseError(`${describe(spec)}: unexpected response (${scrub(problem)})`, {
          ...context(spec, { status: response.statusCode }),
          problem: scrub(problem),
        });
      }
      return parsed.data;
    }
    throw allEndpointsFailed(spec, failures);
  };

  const isTransient = (error: unknown): boolean => {
    if (error instanceof ProxmoxConnectionError || error instanceof ProxmoxNodeUnreachableError) return true;
    if (error instanceof ProxmoxTimeoutError) return error.phase === 'connect';
    if (error instanceof ProxmoxApiError) return error.status === 502 || error.status === 503;
    return false;
  };

  /** Runs a call under the node's in-flight limit; retries only idempotent GETs on transient failures. */
  const call = async <S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S>> => {
    const maxAttempts = spec.method === 'GET' ? retries + 1 : 1;
    for (let n = 1; ; n += 1) {
      const release = spec.node === undefined ? undefined : await limiterFor(spec.node).acquire();
      try {
        return await attempt(spec);
      } catch (error) {
        if (n >= maxAttempts || !isTransient(error)) throw error;
        logger?.debug('retrying Proxmox call after a transient failure', {
          clusterId: cluster.id,
          endpointClass: spec.cls,
          attempt: n,
          error: error instanceof Error ? error.name : 'unknown',
        });
      } finally {
        release?.();
      }
      await sleep(Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1))));
    }
  };

  const enc = encodeURIComponent;
  const guestPath = (node: string, type: GuestKind, vmid: number): string => {
    if (!Number.isInteger(vmid) || vmid < 1) throw new RangeError(`invalid vmid ${vmid}`);
    return `/nodes/${enc(node)}/${type}/${vmid}`;
  };

  const taskStatus = async (upid: string) => {
    const node = nodeOfUpid(upid);
    if (node === null) throw new RangeError('not a UPID');
    return call({
      cls: 'task',
      method: 'GET',
      path: `/nodes/${enc(node)}/tasks/${enc(upid)}/status`,
      node,
      schema: TaskStatusSchema,
    });
  };

  return {
    clusterId: cluster.id,

    version: () => call({ cls: 'version', method: 'GET', path: '/version', schema: VersionSchema }),

    clusterResources: (): Promise<ClusterResources> =>
      call({ cls: 'resources', method: 'GET', path: '/cluster/resources', schema: ClusterResourcesSchema }),

    clusterStatus: () =>
      call({ cls: 'cluster_status', method: 'GET', path: '/cluster/status', schema: ClusterStatusSchema }),

    nodes: () => call({ cls: 'nodes', method: 'GET', path: '/nodes', schema: NodeListSchema }),

    guestConfig: (node, type, vmid) =>
      call({
        cls: 'config',
        method: 'GET',
        path: `${guestPath(node, type, vmid)}/config`,
        node,
        schema: GuestConfigSchema,
      }),

    guestStatus: (node, type, vmid) =>
      call({
        cls: 'status',
        method: 'GET',
        path: `${guestPath(node, type, vmid)}/status/current`,
        node,
        schema: GuestStatusSchema,
      }),

    async agentInterfaces(node, vmid) {
      const data = await call({
        cls: 'agent',
        method: 'GET',
        path: `${guestPath(node, 'qemu', vmid)}/agent/network-get-interfaces`,
        node,
        schema: AgentInterfacesSchema,
      });
      return data.result;
    },

    lxcInterfaces: (node, vmid) =>
      call({
        cls: 'interfaces',
        method: 'GET',
        path: `${guestPath(node, 'lxc', vmid)}/interfaces`,
        node,
        schema: LxcInterfacesSchema,
      }),

    powerAction: (node, type, vmid, action: PowerAction) =>
      call({
        cls: 'power',
        method: 'POST',
        path: `${guestPath(node, type, vmid)}/status/${action}`,
        node,
        schema: UpidSchema,
      }),

    taskStatus,

    async waitForTask(upid: string, options: WaitForTaskOptions = {}): Promise<TaskOutcome> {
      const timeoutMs = options.timeoutMs ?? 20_000;
      const intervalMs = options.intervalMs ?? 1_000;
      const deadline = now() + timeoutMs;
      for (;;) {
        const status = await taskStatus(upid);
        if (status.status === 'stopped') {
          const exitStatus = status.exitstatus ?? 'unexpected status';
          return {
            finished: true,
            upid,
            exitStatus,
            ok: exitStatus === 'OK' || /^WARNINGS: \d+$/.test(exitStatus),
          };
        }
        const remaining = deadline - now();
        if (remaining <= 0) return { finished: false, upid };
        await sleep(Math.min(intervalMs, remaining));
      }
    },

    callCounts: () => ({ ...counts }),

    resetCallCounts: () => {
      counts = emptyCallCounts();
    },

    async close() {
      if (deps.dispatcher !== undefined) return;
      await Promise.all(endpoints.map((e) => e.dispatcher.close()));
    },
  };
}

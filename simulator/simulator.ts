import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type ApiResult, classify, handleApi, type Principal } from '#simulator/api.ts';
import {
  makeCertificate,
  makeCertificateAuthority,
  type SimCertificate,
  type SimCertificateAuthority,
} from '#simulator/certificate.ts';
import { ClusterModel, emptyFaults } from '#simulator/cluster-model.ts';
import {
  AdvanceSchema,
  CreateGuestSchema,
  type FaultRequest,
  FaultRequestSchema,
  GuestIpSchema,
  GuestStatusSchema,
  HaRequestSchema,
  NodeVersionSchema,
  TokenRequestSchema,
} from '#simulator/control-api.ts';
import { generateFleet, isUp, reachability, type SimGuest, toGroundTruth } from '#simulator/fleet.ts';
import { mixSeed, Prng, prngUuid } from '#simulator/prng.ts';
import { ProbeListeners } from '#simulator/probe-listeners.ts';
import { DEFAULT_PVE_MAJOR, type PveMajor, pveProfile } from '#simulator/pve-version.ts';
import type {
  EndpointClass,
  ExtraToken,
  GroundTruthGuest,
  SimulatedCluster,
  SimulatorOptions,
} from '#simulator/types.ts';
import { WorkerPool } from '#simulator/worker-pool.ts';

/** Thrown for a cluster id, node or guest the simulator does not have. */
export class SimulatorLookupError extends Error {
  override readonly name = 'SimulatorLookupError';
}

/** Cluster configuration JSON (contract 1) as the simulator writes it. */
export interface SimClustersFile {
  clusters: {
    id: string;
    name: string;
    endpoints: { url: string; fingerprint: string }[];
    tokenId: string;
    tokenSecret: { env: string } | { file: string };
    simulated: true;
    probePorts: { rdp: number; ssh: number };
    maxInFlightPerNode: number;
  }[];
}

/** Run-time fault switches (contract 2), also reachable through the control API. */
export interface SimulatorFaults {
  setClusterDown(clusterId: string, down: boolean): void;
  setEndpointDown(clusterId: string, node: string, down: boolean): void;
  setNodeOffline(clusterId: string, node: string, offline: boolean): void;
  setLatency(clusterId: string, cls: EndpointClass, ms: number): void;
  setErrorRate(clusterId: string, cls: EndpointClass, rate: number, status?: number): void;
  setHang(clusterId: string, cls: EndpointClass, hang: boolean): void;
  setMalformed(clusterId: string, cls: EndpointClass, malformed: boolean): void;
  setTokenRevoked(clusterId: string, revoked: boolean): void;
  reset(): void;
}

/** A running simulator (contract 2). */
export interface Simulator {
  readonly clusters: SimulatedCluster[];
  /** Base URL of the plain-HTTP control API on 127.0.0.1 (never affected by faults). */
  readonly controlUrl: string;
  readonly faults: SimulatorFaults;
  clusterConfig(options?: { secretFile?: string }): SimClustersFile;
  counters(clusterId: string): Record<EndpointClass, number> & { total: number };
  /**
   * Per node, the most node-proxied calls at it at once (served by its 3 workers or queued for
   * one, as pvedaemon's callers are) since the start or the last {@link resetCounters}.
   */
  peakInFlight(clusterId: string): Record<string, number>;
  resetCounters(): void;
  groundTruth(clusterId: string): GroundTruthGuest[];
  guest(clusterId: string, vmid: number): GroundTruthGuest | undefined;
  destroyGuest(clusterId: string, vmid: number): void;
  createGuest(
    clusterId: string,
    partial?: { name?: string; node?: string; type?: 'qemu' | 'lxc'; status?: string; ostype?: string },
  ): number;
  setGuestStatus(clusterId: string, vmid: number, status: string): void;
  /** Gives a guest's first NIC a new live address (127.0.0.0/8), as after a DHCP renewal. */
  setGuestIp(clusterId: string, vmid: number, ip: string): void;
  /** Adds an API token, e.g. one restricted to some VMIDs (PVE ACL filtering). */
  addToken(clusterId: string, token: ExtraToken): void;
  /** Makes one node run another major version (a cluster part-way through an upgrade). */
  setNodeVersion(clusterId: string, node: string, version: PveMajor): void;
  /**
   * Puts a guest under HA (`ha-manager add`); the HA manager processes it `crmDelayMs` later
   * (default 10 000), and acts on power requests only from then on.
   */
  addToHa(clusterId: string, vmid: number, options?: { crmDelayMs?: number }): void;
  /**
   * Renews the nodes' certificate (new key, new fingerprint, same cluster CA), as pveupdate does
   * before a self-signed node certificate expires; open connections are closed.
   */
  renewCertificate(clusterId: string): Promise<void>;
  /** The simulated wall clock (epoch ms): real time plus everything passed to advance(). */
  now(): number;
  advance(ms: number): void;
  /** Resolves once endpoints and probe listeners follow every fault and state change made so far. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

interface EndpointState {
  node: string;
  port: number;
  server: HttpsServer | null;
  sockets: Set<Socket>;
}

interface ClusterRuntime {
  model: ClusterModel;
  ca: SimCertificateAuthority;
  cert: SimCertificate;
  endpoints: EndpointState[];
  pools: Map<string, WorkerPool>;
  info: SimulatedCluster;
}

const TOKEN_RE = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/;
const NO_BODY_STATUSES = new Set([595, 596, 597, 598, 599]);
const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);

function send(res: ServerResponse, status: number, reason: string, body?: string): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.statusMessage = reason.split(/[\r\n]/)[0] ?? '';
  // pve-http-server closes keep-alive connections after every error response.
  if (status >= 400) res.setHeader('Connection', 'close');
  if (body === undefined) {
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json;charset=UTF-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendResult(res: ServerResponse, r: ApiResult, acceptsGzip = false): void {
  if (r.ok) {
    const body = JSON.stringify({ ...(r.extra ?? {}), data: r.data });
    // Like pve-http-server: bodies over 1024 bytes are gzip-compressed when the client accepts it.
    if (acceptsGzip && body.length > 1024 && !res.headersSent) {
      const zipped = gzipSync(body);
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json;charset=UTF-8');
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Content-Length', zipped.length);
      res.end(zipped);
      return;
    }
    send(res, 200, 'OK', body);
    return;
  }
  if (r.noBody === true || NO_BODY_STATUSES.has(r.status)) {
    send(res, r.status, r.message);
    return;
  }
  // PVE's error texts are exception strings and end with a newline in the body (the status line
  // keeps only the first line); the 501 of an unknown path is a plain result without one.
  const message = r.status === 501 || r.message.endsWith('\n') ? r.message : `${r.message}\n`;
  const body: Record<string, unknown> = { data: null, message };
  if (r.errors !== undefined) body.errors = r.errors;
  send(res, r.status, r.message, JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > 1_048_576) break;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseParams(url: URL, contentType: string | undefined, body: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  if (body.length === 0) return params;
  if (contentType?.includes('application/json') === true) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed !== null && typeof parsed === 'object') {
        for (const [k, v] of Object.entries(parsed)) {
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params[k] = String(v);
        }
      }
    } catch {
      // PVE answers a body it cannot parse with a parameter error later; treat it as empty here.
    }
    return params;
  }
  for (const [k, v] of new URLSearchParams(body)) params[k] = v;
  return params;
}

function parseJsonBody(body: string): unknown {
  if (body.trim().length === 0) return {};
  return JSON.parse(body);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** The simulator implementation behind {@link startSimulator}. */
export class SimulatorRuntime implements Simulator {
  readonly clusters: SimulatedCluster[] = [];
  controlUrl = '';
  private readonly runtimes = new Map<string, ClusterRuntime>();
  private readonly probes = new ProbeListeners();
  private control: HttpServer | null = null;
  private readonly controlSockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly pendingOps = new Set<Promise<void>>();
  private offsetMs = 0;
  private probesDirty = false;
  private stopped = false;
  private readonly opts: Required<Omit<SimulatorOptions, 'latencyMs'>> & {
    latencyMs: Partial<Record<EndpointClass, number>>;
  };
  readonly faults: SimulatorFaults;

  constructor(options: SimulatorOptions = {}) {
    const seed = options.seed ?? 1;
    this.opts = {
      clusters: options.clusters ?? 2,
      nodesPerCluster: options.nodesPerCluster ?? 3,
      guestsPerCluster: options.guestsPerCluster ?? 100,
      seed,
      basePort: options.basePort ?? 0,
      tokenId: options.tokenId ?? 'root@pam!sim',
      tokenSecret: options.tokenSecret ?? prngUuid(new Prng(mixSeed(seed, 0x70c3))),
      password: options.password ?? 'simulator',
      probePorts: options.probePorts ?? { rdp: 13389, ssh: 10022 },
      probeListeners: options.probeListeners ?? true,
      taskDelayMs: options.taskDelayMs ?? 1500,
      latencyMs: options.latencyMs ?? {},
      drift: options.drift ?? true,
      churnPerMinute: options.churnPerMinute ?? 0,
      authFailureDelayMs: options.authFailureDelayMs ?? 0,
      controlPort: options.controlPort ?? 0,
      offlineStaleMs: options.offlineStaleMs ?? 0,
      agentNotRunningDelayMs: options.agentNotRunningDelayMs ?? 0,
      agentStartDelayMs: options.agentStartDelayMs ?? 0,
      nodeLayout: options.nodeLayout ?? 'round-robin',
      pveVersion: options.pveVersion ?? DEFAULT_PVE_MAJOR,
    };
    if (this.opts.clusters < 1 || this.opts.clusters > 200) throw new RangeError('clusters must be 1..200');
    if (this.opts.nodesPerCluster < 1) throw new RangeError('nodesPerCluster must be >= 1');
    this.faults = this.makeFaults();
  }

  /** Simulated wall clock: real time plus everything passed to advance(). */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Generates the fleets and certificates and opens every listener. */
  async start(): Promise<void> {
    const o = this.opts;
    const startedAt = this.now();
    for (let i = 0; i < o.clusters; i++) {
      const nodes = Array.from({ length: o.nodesPerCluster }, (_, j) => `pve${i + 1}n${j + 1}`);
      const guests = generateFleet({
        seed: o.seed,
        clusterIndex: i,
        nodes,
        guests: o.guestsPerCluster,
        now: startedAt,
        nodeLayout: o.nodeLayout,
        profile: pveProfile(o.pveVersion),
      });
      const model = new ClusterModel(
        i,
        nodes,
        guests,
        {
          seed: o.seed,
          taskDelayMs: o.taskDelayMs,
          drift: o.drift,
          churnPerMinute: o.churnPerMinute,
          startedAt,
          offlineStaleMs: o.offlineStaleMs,
          agentStartDelayMs: o.agentStartDelayMs,
          pveMajor: o.pveVersion,
        },
        { tokenId: o.tokenId, secret: o.tokenSecret },
      );
      model.onChange = () => this.markProbesDirty();
      const ca = await makeCertificateAuthority(`Proxmox Virtual Environment ${model.id}`);
      const cert = await makeCertificate(`${model.id}.simulated.pve`, ca);
      const endpoints: EndpointState[] = nodes.map((node, j) => ({
        node,
        port:
          o.basePort === 0
            ? 0
            : j === 0
              ? o.basePort + i
              : o.basePort + o.clusters + i * (o.nodesPerCluster - 1) + (j - 1),
        server: null,
        sockets: new Set(),
      }));
      const pools = new Map(nodes.map((n) => [n, new WorkerPool(3)]));
      const info: SimulatedCluster = {
        id: model.id,
        name: model.name,
        url: '',
        endpoints: [],
        port: 0,
        ports: [],
        fingerprint: cert.fingerprint,
        certPem: ca.certPem,
        pveVersion: o.pveVersion,
        tokenId: o.tokenId,
        tokenSecret: o.tokenSecret,
        nodes,
      };
      const rt: ClusterRuntime = { model, ca, cert, endpoints, pools, info };
      this.runtimes.set(model.id, rt);
      for (const ep of endpoints) await this.openEndpoint(rt, ep);
      info.endpoints = endpoints.map((ep) => ({
        node: ep.node,
        url: `https://127.0.0.1:${ep.port}`,
        port: ep.port,
      }));
      info.ports = endpoints.map((ep) => ep.port);
      info.port = info.ports[0] ?? 0;
      info.url = info.endpoints[0]?.url ?? '';
      this.clusters.push(info);
    }
    await this.openControl();
    this.markProbesDirty();
    await this.settled();
  }

  private rt(clusterId: string): ClusterRuntime {
    const rt = this.runtimes.get(clusterId);
    if (rt === undefined) throw new SimulatorLookupError(`unknown simulated cluster '${clusterId}'`);
    return rt;
  }

  private endpoint(rt: ClusterRuntime, node: string): EndpointState {
    const ep = rt.endpoints.find((e) => e.node === node);
    if (ep === undefined) throw new SimulatorLookupError(`unknown node '${node}' in ${rt.model.id}`);
    return ep;
  }

  private openEndpoint(rt: ClusterRuntime, ep: EndpointState): Promise<void> {
    if (ep.server !== null || this.stopped) return Promise.resolve();
    const server = createHttpsServer(
      { key: rt.cert.keyPem, cert: rt.cert.certPem, keepAliveTimeout: 5000 },
      (req, res) => {
        this.handle(rt, ep, req, res).catch((err: unknown) => {
          send(res, 500, err instanceof Error ? err.message : 'internal error');
        });
      },
    );
    server.on('connection', (socket: Socket) => {
      ep.sockets.add(socket);
      socket.on('close', () => ep.sockets.delete(socket));
    });
    server.on('tlsClientError', () => {});
    ep.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: ep.port }, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr !== null && typeof addr === 'object') ep.port = addr.port;
        resolve();
      });
    });
  }

  private closeEndpoint(ep: EndpointState): Promise<void> {
    const server = ep.server;
    if (server === null) return Promise.resolve();
    ep.server = null;
    for (const s of ep.sockets) s.destroy();
    ep.sockets.clear();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Opens or closes an endpoint to match faults (cluster down, endpoint down, node offline). */
  private refreshEndpoint(rt: ClusterRuntime, ep: EndpointState): void {
    const node = rt.model.node(ep.node);
    const shouldBeUp =
      !rt.model.faults.down && !rt.model.faults.endpointsDown.has(ep.node) && node?.online === true;
    let op: Promise<void> | undefined;
    if (shouldBeUp && ep.server === null) {
      op = this.openEndpoint(rt, ep).catch(() => {
        ep.server = null;
      });
    } else if (!shouldBeUp && ep.server !== null) {
      op = this.closeEndpoint(ep);
    }
    if (op !== undefined) {
      const tracked = op.finally(() => this.pendingOps.delete(tracked));
      this.pendingOps.add(tracked);
    }
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private latencyOf(rt: ClusterRuntime, cls: EndpointClass): number {
    return rt.model.faults.latency.get(cls) ?? this.opts.latencyMs[cls] ?? 0;
  }

  private authenticate(
    rt: ClusterRuntime,
    req: IncomingMessage,
    method: string,
    now: number,
  ): Principal | { error: string } {
    const m = rt.model;
    const authz = req.headers.authorization;
    let ticket = cookieValue(req.headers.cookie, 'PVEAuthCookie');
    if (ticket === undefined && authz?.startsWith('PVEAuthCookie=') === true) {
      ticket = decodeURIComponent(authz.slice('PVEAuthCookie='.length));
    }
    if (ticket !== undefined) {
      const user = m.verifyTicket(ticket, now);
      if (user === null) return { error: 'permission denied - invalid PVE ticket' };
      const csrf = req.headers.csrfpreventiontoken;
      if (method !== 'GET' && !m.verifyCsrf(user, typeof csrf === 'string' ? csrf : undefined)) {
        return { error: 'Permission denied - invalid csrf token' };
      }
      return { user, tokenFull: user, viaTicket: true };
    }
    const match = authz === undefined ? null : TOKEN_RE.exec(authz);
    if (match === null) return { error: 'No ticket' };
    let value: string;
    try {
      value = decodeURIComponent((match[1] ?? '').trim());
    } catch {
      return { error: 'no tokenid specified' };
    }
    // PVE's texts (AccessControl::verify_token): clients re-authenticate or give up on these words.
    const cut = value.lastIndexOf('=');
    if (cut < 0) return { error: 'no tokenid specified' };
    const tokenId = value.slice(0, cut);
    const secret = value.slice(cut + 1);
    const parts = /^([^@!\s]+@[^@!\s]+)!([A-Za-z][A-Za-z0-9._-]+)$/.exec(tokenId);
    if (parts === null)
      return { error: `'${tokenId}' is not a valid token ID - not able to split into user and token parts` };
    const user = parts[1] ?? tokenId;
    const token = m.tokens.get(tokenId);
    const userKnown = [...m.tokens.keys()].some((id) => id.startsWith(`${user}!`));
    if (!userKnown) return { error: `no such user ('${user}')` };
    if (token === undefined || m.faults.tokenRevoked)
      return { error: `no such token '${parts[2] ?? ''}' for user '${user}'` };
    if (token.secret !== secret) return { error: 'invalid token value!' };
    const principal: Principal = { user, tokenFull: tokenId, viaTicket: false };
    if (token !== m.mainToken) principal.token = token;
    return principal;
  }

  private async handle(
    rt: ClusterRuntime,
    ep: EndpointState,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://simulator.invalid');
    if (url.pathname.startsWith('/_sim/')) {
      await this.handleControl(req, res, url);
      return;
    }
    const method = req.method ?? 'GET';
    // pve-http-server knows GET, POST, PUT and DELETE only: anything else (HEAD, OPTIONS, PATCH) is
    // refused before authentication.
    if (!KNOWN_METHODS.has(method)) {
      send(res, 501, `method '${method}' not available`);
      return;
    }
    if (!url.pathname.startsWith('/api2/json/')) {
      send(res, 501, `Method '${method} ${url.pathname}' not implemented`);
      return;
    }
    const m = rt.model;
    const path = url.pathname.slice('/api2/json'.length).replace(/\/+$/, '');
    const route = classify(method, path);
    m.counts[route.cls]++;
    const body = await readBody(req);
    const params = parseParams(url, req.headers['content-type'], body);
    let now = this.now();
    m.settle(now);

    if (path === '/access/ticket' && method === 'POST') {
      await this.login(rt, params, res, now);
      return;
    }
    const auth = this.authenticate(rt, req, method, now);
    if ('error' in auth) {
      await this.delay(this.opts.authFailureDelayMs);
      send(res, 401, auth.error);
      return;
    }
    if (m.faults.hang.has(route.cls)) {
      // Never answered until the fault is cleared by stop() or the client gives up.
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    const injected = m.rollError(route.cls);
    if (injected !== null) {
      sendResult(res, { ok: false, status: injected.status, message: `simulated error (${route.cls})` });
      return;
    }
    if (route.node !== undefined) {
      const target = m.node(route.node);
      if (target !== undefined && !target.online) {
        sendResult(res, { ok: false, status: 595, message: 'No route to host', noBody: true });
        return;
      }
    }
    const poolNode = route.node ?? (route.cls === 'cluster_status' ? ep.node : undefined);
    const pool = poolNode === undefined ? undefined : rt.pools.get(poolNode);
    const exec = async (): Promise<ApiResult> => {
      await this.delay(this.latencyOf(rt, route.cls));
      now = this.now();
      m.settle(now);
      const answer = handleApi(
        m,
        { method, path, params, principal: auth, now },
        ep.node,
        rt.cert.fingerprint,
      );
      // PVE waits for the guest agent's socket before it gives up, and the worker waits with it.
      if (route.cls === 'agent' && !answer.ok && /agent is not running/.test(answer.message))
        await this.delay(this.opts.agentNotRunningDelayMs);
      return answer;
    };
    const result = pool === undefined ? await exec() : await pool.run(exec);
    if (result.ok && m.faults.malformed.has(route.cls)) {
      send(res, 200, 'OK', `{"data":[{"id":"qemu/100","status":"run`);
      return;
    }
    sendResult(res, result, /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')));
  }

  private async login(
    rt: ClusterRuntime,
    params: Record<string, string>,
    res: ServerResponse,
    now: number,
  ): Promise<void> {
    let username = params.username ?? '';
    if (!username.includes('@') && params.realm !== undefined) username = `${username}@${params.realm}`;
    const owner = this.opts.tokenId.split('!')[0] ?? 'root@pam';
    const password = params.password ?? '';
    let valid = username === owner && password === this.opts.password;
    if (!valid && username === owner && rt.model.verifyTicket(password, now) === owner) valid = true;
    if (!valid) {
      await this.delay(this.opts.authFailureDelayMs);
      send(res, 401, 'authentication failure');
      return;
    }
    const { ticket, csrf } = rt.model.makeTicket(owner, now);
    sendResult(res, {
      ok: true,
      data: {
        username: owner,
        ticket,
        CSRFPreventionToken: csrf,
        clustername: rt.model.id,
        cap: {
          vms: {
            'VM.Audit': 1,
            'VM.PowerMgmt': 1,
            ...Object.fromEntries(rt.model.profile.agentPrivileges.map((p) => [p, 1])),
          },
          nodes: { 'Sys.Audit': 1 },
        },
      },
    });
  }

  private async openControl(): Promise<void> {
    const server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://simulator.invalid');
      this.handleControl(req, res, url).catch((err: unknown) => {
        send(
          res,
          500,
          'control error',
          JSON.stringify({ error: err instanceof Error ? err.message : String(err) }),
        );
      });
    });
    server.on('connection', (s: Socket) => {
      this.controlSockets.add(s);
      s.on('close', () => this.controlSockets.delete(s));
    });
    this.control = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.opts.controlPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.controlUrl = `http://127.0.0.1:${addr !== null && typeof addr === 'object' ? addr.port : 0}`;
  }

  private faultState(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [id, rt] of this.runtimes) {
      const f = rt.model.faults;
      out[id] = {
        clusterDown: f.down,
        endpointsDown: [...f.endpointsDown],
        nodesOffline: rt.model.nodes.filter((n) => !n.online).map((n) => n.name),
        latency: Object.fromEntries(f.latency),
        errorRate: Object.fromEntries(f.errorRate),
        hang: [...f.hang],
        malformed: [...f.malformed],
        tokenRevoked: f.tokenRevoked,
      };
    }
    return out;
  }

  private applyFault(clusterId: string, f: FaultRequest): void {
    switch (f.fault) {
      case 'clusterDown':
        this.faults.setClusterDown(clusterId, f.down);
        break;
      case 'endpointDown':
        this.faults.setEndpointDown(clusterId, f.node, f.down);
        break;
      case 'nodeOffline':
        this.faults.setNodeOffline(clusterId, f.node, f.offline);
        break;
      case 'latency':
        this.faults.setLatency(clusterId, f.class, f.ms);
        break;
      case 'errorRate':
        this.faults.setErrorRate(clusterId, f.class, f.rate, f.status);
        break;
      case 'hang':
        this.faults.setHang(clusterId, f.class, f.hang);
        break;
      case 'malformed':
        this.faults.setMalformed(clusterId, f.class, f.malformed);
        break;
      case 'tokenRevoked':
        this.faults.setTokenRevoked(clusterId, f.revoked);
        break;
    }
  }

  /** The control API: JSON over HTTP, outside /api2/json, never counted. */
  private async handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const json = (status: number, value: unknown) =>
      send(res, status, status === 200 ? 'OK' : 'Error', JSON.stringify(value));
    let body: unknown;
    try {
      body = parseJsonBody(await readBody(req));
    } catch {
      json(400, { error: 'body is not JSON' });
      return;
    }
    try {
      if (method === 'GET' && path === '/_sim/clusters')
        return json(
          200,
          this.clusters.map(({ certPem: _c, ...rest }) => rest),
        );
      if (method === 'GET' && path === '/_sim/counters') {
        return json(200, Object.fromEntries(this.clusters.map((c) => [c.id, this.counters(c.id)])));
      }
      if (method === 'POST' && path === '/_sim/counters/reset') {
        this.resetCounters();
        return json(200, { ok: true });
      }
      if (method === 'GET' && path === '/_sim/faults') return json(200, this.faultState());
      if (method === 'POST' && path === '/_sim/faults/reset') {
        this.faults.reset();
        await this.settled();
        return json(200, { ok: true });
      }
      if (method === 'POST' && path === '/_sim/advance') {
        const parsed = AdvanceSchema.safeParse(body);
        if (!parsed.success) return json(400, { error: parsed.error.message });
        this.advance(parsed.data.ms);
        return json(200, { ok: true });
      }
      const cm = /^\/_sim\/clusters\/([^/]+)(\/.*)$/.exec(path);
      if (cm !== null) {
        const id = decodeURIComponent(cm[1] ?? '');
        const sub = cm[2] ?? '';
        this.rt(id);
        if (method === 'GET' && sub === '/counters') return json(200, this.counters(id));
        if (method === 'GET' && sub === '/ground-truth') return json(200, this.groundTruth(id));
        if (method === 'POST' && sub === '/faults') {
          const parsed = FaultRequestSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          this.applyFault(id, parsed.data);
          await this.settled();
          return json(200, { ok: true, faults: this.faultState()[id] });
        }
        if (method === 'POST' && sub === '/tokens') {
          const parsed = TokenRequestSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          const t: ExtraToken = { tokenId: parsed.data.tokenId, secret: parsed.data.secret };
          if (parsed.data.vmids !== undefined) t.vmids = parsed.data.vmids;
          if (parsed.data.privileges !== undefined) t.privileges = parsed.data.privileges;
          if (parsed.data.sysAudit !== undefined) t.sysAudit = parsed.data.sysAudit;
          this.addToken(id, t);
          return json(200, { ok: true });
        }
        if (method === 'POST' && sub === '/guests') {
          const parsed = CreateGuestSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          const partial: Parameters<Simulator['createGuest']>[1] = {};
          if (parsed.data.name !== undefined) partial.name = parsed.data.name;
          if (parsed.data.node !== undefined) partial.node = parsed.data.node;
          if (parsed.data.type !== undefined) partial.type = parsed.data.type;
          if (parsed.data.status !== undefined) partial.status = parsed.data.status;
          return json(200, { vmid: this.createGuest(id, partial) });
        }
        const vm = /^\/nodes\/([^/]+)\/version$/.exec(sub);
        if (method === 'POST' && vm !== null) {
          const parsed = NodeVersionSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          this.setNodeVersion(id, decodeURIComponent(vm[1] ?? ''), parsed.data.version);
          return json(200, { ok: true });
        }
        if (method === 'POST' && sub === '/certificate/renew') {
          await this.renewCertificate(id);
          return json(200, { ok: true, fingerprint: this.rt(id).info.fingerprint });
        }
        const ha = /^\/guests\/(\d+)\/ha$/.exec(sub);
        if (method === 'POST' && ha !== null) {
          const parsed = HaRequestSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          const options: { crmDelayMs?: number } = {};
          if (parsed.data.crmDelayMs !== undefined) options.crmDelayMs = parsed.data.crmDelayMs;
          this.addToHa(id, Number(ha[1]), options);
          return json(200, { ok: true });
        }
        const ipRoute = /^\/guests\/(\d+)\/ip$/.exec(sub);
        if (method === 'POST' && ipRoute !== null) {
          const parsed = GuestIpSchema.safeParse(body);
          if (!parsed.success) return json(400, { error: parsed.error.message });
          this.setGuestIp(id, Number(ipRoute[1]), parsed.data.ip);
          return json(200, { ok: true });
        }
        const gm = /^\/guests\/(\d+)(\/status)?$/.exec(sub);
        if (gm !== null) {
          const vmid = Number(gm[1]);
          if (method === 'DELETE' && gm[2] === undefined) {
            this.destroyGuest(id, vmid);
            return json(200, { ok: true });
          }
          if (method === 'POST' && gm[2] === '/status') {
            const parsed = GuestStatusSchema.safeParse(body);
            if (!parsed.success) return json(400, { error: parsed.error.message });
            this.setGuestStatus(id, vmid, parsed.data.status);
            return json(200, { ok: true });
          }
          if (method === 'GET' && gm[2] === undefined) {
            const g = this.guest(id, vmid);
            return g === undefined ? json(404, { error: 'no such guest' }) : json(200, g);
          }
        }
      }
      json(404, { error: `no control route ${method} ${path}` });
    } catch (err) {
      if (err instanceof SimulatorLookupError) return json(404, { error: err.message });
      throw err;
    }
  }

  private makeFaults(): SimulatorFaults {
    const self = this;
    return {
      setClusterDown(clusterId, down) {
        const rt = self.rt(clusterId);
        rt.model.faults.down = down;
        for (const ep of rt.endpoints) self.refreshEndpoint(rt, ep);
      },
      setEndpointDown(clusterId, node, down) {
        const rt = self.rt(clusterId);
        const ep = self.endpoint(rt, node);
        if (down) rt.model.faults.endpointsDown.add(node);
        else rt.model.faults.endpointsDown.delete(node);
        self.refreshEndpoint(rt, ep);
      },
      setNodeOffline(clusterId, node, offline) {
        const rt = self.rt(clusterId);
        if (!rt.model.setNodeOnline(node, !offline, self.now())) {
          throw new SimulatorLookupError(`unknown node '${node}' in ${clusterId}`);
        }
        // A dead node's own API endpoint refuses connections too.
        self.refreshEndpoint(rt, self.endpoint(rt, node));
        self.markProbesDirty();
      },
      setLatency(clusterId, cls, ms) {
        self.rt(clusterId).model.faults.latency.set(cls, ms);
      },
      setErrorRate(clusterId, cls, rate, status = 500) {
        const f = self.rt(clusterId).model.faults;
        if (rate <= 0) f.errorRate.delete(cls);
        else f.errorRate.set(cls, { rate, status });
      },
      setHang(clusterId, cls, hang) {
        const f = self.rt(clusterId).model.faults;
        if (hang) f.hang.add(cls);
        else f.hang.delete(cls);
      },
      setMalformed(clusterId, cls, malformed) {
        const f = self.rt(clusterId).model.faults;
        if (malformed) f.malformed.add(cls);
        else f.malformed.delete(cls);
      },
      setTokenRevoked(clusterId, revoked) {
        self.rt(clusterId).model.faults.tokenRevoked = revoked;
      },
      reset() {
        for (const rt of self.runtimes.values()) {
          rt.model.faults = emptyFaults();
          for (const n of rt.model.nodes) rt.model.setNodeOnline(n.name, true, self.now());
          for (const ep of rt.endpoints) self.refreshEndpoint(rt, ep);
        }
        for (const res of self.hanging) res.destroy();
        self.hanging.clear();
        self.markProbesDirty();
      },
    };
  }

  clusterConfig(options?: { secretFile?: string }): SimClustersFile {
    const secret =
      options?.secretFile !== undefined ? { file: options.secretFile } : { env: 'PVE_SIM_TOKEN' };
    return {
      clusters: this.clusters.map((c) => ({
        id: c.id,
        name: c.name,
        endpoints: c.endpoints.map((e) => ({ url: e.url, fingerprint: c.fingerprint })),
        tokenId: c.tokenId,
        tokenSecret: { ...secret },
        simulated: true as const,
        probePorts: { ...this.opts.probePorts },
        maxInFlightPerNode: 3,
      })),
    };
  }

  counters(clusterId: string): Record<EndpointClass, number> & { total: number } {
    const counts = this.rt(clusterId).model.counts;
    const total = Object.values(counts).reduce((s, n) => s + n, 0);
    return { ...counts, total };
  }

  peakInFlight(clusterId: string): Record<string, number> {
    return Object.fromEntries([...this.rt(clusterId).pools].map(([node, pool]) => [node, pool.peak]));
  }

  resetCounters(): void {
    for (const rt of this.runtimes.values()) {
      rt.model.counts = rt.model.zeroCounts();
      for (const pool of rt.pools.values()) pool.resetPeak();
    }
  }

  private truthOf(rt: ClusterRuntime, g: SimGuest): GroundTruthGuest {
    const t = toGroundTruth(g);
    if (rt.model.node(g.node)?.online !== true) {
      t.rdpReachable = false;
      t.sshReachable = false;
    }
    return t;
  }

  groundTruth(clusterId: string): GroundTruthGuest[] {
    const rt = this.rt(clusterId);
    rt.model.settle(this.now());
    return [...rt.model.guests.values()].map((g) => this.truthOf(rt, g));
  }

  guest(clusterId: string, vmid: number): GroundTruthGuest | undefined {
    const rt = this.rt(clusterId);
    rt.model.settle(this.now());
    const g = rt.model.guests.get(vmid);
    return g === undefined ? undefined : this.truthOf(rt, g);
  }

  destroyGuest(clusterId: string, vmid: number): void {
    const m = this.rt(clusterId).model;
    if (!m.guests.delete(vmid)) throw new SimulatorLookupError(`no guest ${vmid} in ${clusterId}`);
    this.markProbesDirty();
  }

  createGuest(
    clusterId: string,
    partial?: { name?: string; node?: string; type?: 'qemu' | 'lxc'; status?: string; ostype?: string },
  ): number {
    const m = this.rt(clusterId).model;
    if (partial?.node !== undefined && m.node(partial.node) === undefined) {
      throw new SimulatorLookupError(`unknown node '${partial.node}' in ${clusterId}`);
    }
    return m.createGuest(this.now(), partial);
  }

  setGuestStatus(clusterId: string, vmid: number, status: string): void {
    const m = this.rt(clusterId).model;
    const g = m.guests.get(vmid);
    if (g === undefined) throw new SimulatorLookupError(`no guest ${vmid} in ${clusterId}`);
    m.setStatus(g, status, this.now());
  }

  /** Gives the guest's first NIC a new live address (loopback only; see {@link GuestIpSchema}). */
  setGuestIp(clusterId: string, vmid: number, ip: string): void {
    const address = GuestIpSchema.parse({ ip }).ip;
    const g = this.rt(clusterId).model.guests.get(vmid);
    if (g === undefined) throw new SimulatorLookupError(`no guest ${vmid} in ${clusterId}`);
    const nic = g.nics[0];
    if (nic === undefined) throw new SimulatorLookupError(`guest ${vmid} in ${clusterId} has no NIC`);
    nic.liveIp = address;
    this.markProbesDirty();
  }

  addToken(clusterId: string, token: ExtraToken): void {
    this.rt(clusterId).model.tokens.set(token.tokenId, { ...token });
  }

  setNodeVersion(clusterId: string, node: string, version: PveMajor): void {
    if (!this.rt(clusterId).model.setNodeVersion(node, version)) {
      throw new SimulatorLookupError(`unknown node '${node}' in ${clusterId}`);
    }
  }

  addToHa(clusterId: string, vmid: number, options: { crmDelayMs?: number } = {}): void {
    const m = this.rt(clusterId).model;
    const g = m.guests.get(vmid);
    if (g === undefined) throw new SimulatorLookupError(`no guest ${vmid} in ${clusterId}`);
    m.addToHa(g, this.now(), options.crmDelayMs ?? 10_000);
  }

  async renewCertificate(clusterId: string): Promise<void> {
    const rt = this.rt(clusterId);
    rt.cert = await makeCertificate(`${rt.model.id}.simulated.pve`, rt.ca);
    rt.info.fingerprint = rt.cert.fingerprint;
    for (const ep of rt.endpoints) {
      ep.server?.setSecureContext({ key: rt.cert.keyPem, cert: rt.cert.certPem });
      // Keep-alive connections were made with the old certificate: clients reconnect and see the new one.
      for (const socket of ep.sockets) socket.destroy();
      ep.sockets.clear();
    }
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    const now = this.now();
    for (const rt of this.runtimes.values()) rt.model.settle(now);
  }

  private markProbesDirty(): void {
    if (!this.opts.probeListeners || this.probesDirty || this.stopped) return;
    this.probesDirty = true;
    queueMicrotask(() => {
      this.probesDirty = false;
      if (this.stopped) return;
      void this.probes.sync(this.wantedProbes());
    });
  }

  private wantedProbes(): Map<string, { ip: string; port: number; kind: 'rdp' | 'ssh' }> {
    const wanted = new Map<string, { ip: string; port: number; kind: 'rdp' | 'ssh' }>();
    const { rdp, ssh } = this.opts.probePorts;
    for (const rt of this.runtimes.values()) {
      for (const g of rt.model.guests.values()) {
        if (!isUp(g) || rt.model.node(g.node)?.online !== true) continue;
        const r = reachability(g);
        if (r.ip === null) continue;
        if (r.rdp) wanted.set(`${r.ip}:${rdp}`, { ip: r.ip, port: rdp, kind: 'rdp' });
        if (r.ssh) wanted.set(`${r.ip}:${ssh}`, { ip: r.ip, port: ssh, kind: 'ssh' });
      }
    }
    return wanted;
  }

  async settled(): Promise<void> {
    const now = this.now();
    for (const rt of this.runtimes.values()) rt.model.settle(now);
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await Promise.all([...this.pendingOps]);
    await this.probes.idle();
  }

  /** Number of probe listeners open (for tests and benchmarks). */
  get probeListenerCount(): number {
    return this.probes.size;
  }

  /** Probe addresses that could not be bound, with the reason. */
  get probeFailures(): ReadonlyMap<string, string> {
    return this.probes.failures;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await Promise.all([...this.pendingOps]);
    const closing: Promise<void>[] = [];
    for (const rt of this.runtimes.values())
      for (const ep of rt.endpoints) closing.push(this.closeEndpoint(ep));
    const control = this.control;
    this.control = null;
    if (control !== null) {
      for (const s of this.controlSockets) s.destroy();
      closing.push(new Promise((resolve) => control.close(() => resolve())));
    }
    closing.push(this.probes.close());
    await Promise.all(closing);
  }
}

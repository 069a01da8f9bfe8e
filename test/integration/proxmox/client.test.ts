import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterConfig, parseClustersFile } from '#shared/config/clusters.ts';
import { createProxmoxClient, type ProxmoxClientDeps } from '#shared/proxmox/client.ts';
import {
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  ProxmoxError,
  ProxmoxInvalidResponseError,
  ProxmoxNodeUnreachableError,
  ProxmoxNotFoundError,
  ProxmoxPermissionError,
  ProxmoxTimeoutError,
  ProxmoxTlsError,
} from '#shared/proxmox/errors.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import {
  agentEnabled,
  bootDiskBytesFromConfig,
  categoryFromOstype,
  coresFromConfig,
  interfacesFromAgent,
  interfacesFromLxc,
  macsFromConfig,
  memoryMiBFromConfig,
  selectGuestIp,
  staticIpsFromConfig,
} from '#shared/proxmox/mapping.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { everythingIn, recordingLogger } from '../../unit/proxmox/helpers.ts';

let sim: Simulator;
let base: ClusterConfig;
let secret: string;
const clients: ProxmoxGateway[] = [];

/** Both transports run every test below: the sync's undici pools and the power action's node:https. */
const TRANSPORTS = [
  ['undici', createProxmoxClient],
  ['node:https', createHttpsProxmoxClient],
] as const;
let create: (typeof TRANSPORTS)[number][1] = createProxmoxClient;

/** A client on the simulated cluster, with short timeouts so fault tests stay quick. */
function client(
  overrides: Partial<ClusterConfig> = {},
  deps: Partial<ProxmoxClientDeps> = {},
): ProxmoxGateway {
  const c = create(
    { ...base, ...overrides },
    { tokenSecret: secret, connectTimeoutMs: 2_000, retry: { baseDelayMs: 20, maxDelayMs: 50 }, ...deps },
  );
  clients.push(c);
  return c;
}

/** The value, or a test failure naming what was missing. */
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`simulator fleet has no ${what}`);
  return value;
}

const simCluster = () => need(sim.clusters[0], 'cluster');
const firstGuest = () => need(sim.groundTruth('sim-1')[0], 'guest');

async function failure(promise: Promise<unknown>): Promise<ProxmoxError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProxmoxError) return error;
    throw error;
  }
  throw new Error('expected a ProxmoxError');
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 3,
    guestsPerCluster: 40,
    seed: 11,
    taskDelayMs: 150,
    probeListeners: false,
    drift: false,
  });
  // The simulator's generated configuration must pass the project's own schema (contract 1).
  const file = parseClustersFile(sim.clusterConfig(), 'simulator clusterConfig()');
  const cluster = file.clusters[0];
  const simCluster = sim.clusters[0];
  if (cluster === undefined || simCluster === undefined) throw new Error('simulator has no cluster');
  base = cluster;
  secret = simCluster.tokenSecret;
});

afterEach(async () => {
  sim.faults.reset();
  await sim.settled();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await sim?.stop();
});

describe.each(TRANSPORTS)('%s transport', (_name, factory) => {
  beforeAll(() => {
    create = factory;
  });

  describe('Proxmox client over HTTPS with pinned fingerprints', () => {
    it('serves every call and matches the ground truth', async () => {
      const pve = client();
      expect((await pve.version()).version).toMatch(/^\d+\.\d+/);
      const truth = sim.groundTruth('sim-1');
      const { guests, nodes } = await pve.clusterResources();
      expect(guests.map((g) => g.vmid).sort((a, b) => a - b)).toEqual(
        truth.map((g) => g.vmid).sort((a, b) => a - b),
      );
      expect(nodes.map((n) => n.node).sort()).toEqual([...simCluster().nodes].sort());
      const status = await pve.clusterStatus();
      expect(status.filter((r) => r.type === 'node')).toHaveLength(3);
      expect(await pve.nodes()).toHaveLength(3);

      for (const g of truth) {
        const config = await pve.guestConfig(g.node, g.type, g.vmid);
        const where = `${g.type}/${g.vmid}`;
        expect({ where, category: categoryFromOstype(g.type, config.ostype) }).toEqual({
          where,
          category: g.category,
        });
        expect({ where, cores: coresFromConfig(g.type, config) }).toEqual({ where, cores: g.cores });
        expect({ where, memory: memoryMiBFromConfig(g.type, config) }).toEqual({
          where,
          memory: g.memoryMiB,
        });
        expect({ where, disk: bootDiskBytesFromConfig(g.type, config) ?? 0 }).toEqual({
          where,
          disk: g.diskBytes,
        });
        expect({ where, mac: macsFromConfig(g.type, config)[0] }).toEqual({ where, mac: g.mac });

        const running = g.status === 'running';
        let interfaces: ReturnType<typeof interfacesFromAgent> = [];
        if (g.type === 'lxc') {
          const ifaces = await pve.lxcInterfaces(g.node, g.vmid);
          if (!running) expect(ifaces).toBeNull();
          interfaces = interfacesFromLxc(ifaces);
        } else if (running && agentEnabled(config.agent)) {
          interfaces = await pve
            .agentInterfaces(g.node, g.vmid)
            .then(interfacesFromAgent, (error: unknown) => {
              // An enabled agent that is not running answers 500: no live data.
              expect(error).toBeInstanceOf(ProxmoxApiError);
              return [];
            });
        }
        const ip = selectGuestIp({
          interfaces,
          firstMac: macsFromConfig(g.type, config)[0] ?? null,
          staticIps: staticIpsFromConfig(g.type, config).filter((s) => s.index === 0),
          simulated: base.simulated,
        });
        expect({ where, ip }).toEqual({ where, ip: g.expectedIp });
      }

      const one = need(truth[0], 'guest');
      expect((await pve.guestStatus(one.node, one.type, one.vmid)).status).toMatch(/running|stopped/);
    });

    it('starts a stopped guest and waits for its task', async () => {
      const pve = client();
      const stopped = sim
        .groundTruth('sim-1')
        .find(
          (g) => g.status === 'stopped' && !g.template && g.lock === undefined && g.hastate === undefined,
        );
      if (stopped === undefined) throw new Error('fleet has no plain stopped guest');
      const upid = await pve.powerAction(stopped.node, stopped.type, stopped.vmid, 'start');
      expect(upid).toMatch(/^UPID:/);
      expect((await pve.taskStatus(upid)).status).toMatch(/running|stopped/);
      expect(await pve.waitForTask(upid, { timeoutMs: 10_000, intervalMs: 50 })).toMatchObject({
        finished: true,
        ok: true,
        exitStatus: 'OK',
      });
      expect((await pve.guestStatus(stopped.node, stopped.type, stopped.vmid)).status).toBe('running');
    });

    it('counts calls per endpoint class exactly as the simulator does', async () => {
      const pve = client();
      sim.resetCounters();
      const g = firstGuest();
      await pve.version();
      await pve.clusterResources();
      await pve.clusterStatus();
      await pve.guestConfig(g.node, g.type, g.vmid);
      await pve.guestStatus(g.node, g.type, g.vmid);
      const mine = pve.callCounts();
      const theirs = sim.counters('sim-1');
      for (const cls of ['version', 'resources', 'cluster_status', 'config', 'status'] as const) {
        expect({ cls, n: mine[cls] }).toEqual({ cls, n: theirs[cls] });
      }
      expect(mine.total).toBe(theirs.total);
    });

    it('refuses an endpoint whose certificate does not match the pinned fingerprint', async () => {
      const wrong = 'AA:'.repeat(31).concat('AA');
      const pve = client(
        { endpoints: base.endpoints.map((e) => ({ ...e, fingerprint: wrong })) },
        { retry: { retries: 0 } },
      );
      sim.resetCounters();
      const error = await failure(pve.version());
      expect(error).toBeInstanceOf(ProxmoxTlsError);
      expect(error.message).toContain('pinned');
      // The connection was dropped before any request (and so the token) was sent.
      expect(sim.counters('sim-1').total).toBe(0);
    });
  });

  describe('Proxmox client over HTTPS with a CA bundle', () => {
    const unpinned = () => base.endpoints.map((e) => ({ url: e.url }));

    it('verifies the server with the PEM bundle', async () => {
      const pve = client({ endpoints: unpinned(), tls: { caPem: simCluster().certPem } });
      expect((await pve.version()).version).toMatch(/^\d/);
      expect((await pve.clusterResources()).guests.length).toBeGreaterThan(0);
    });

    it('rejects the self-signed certificate with only the system CAs', async () => {
      const pve = client({ endpoints: unpinned(), tls: undefined }, { retry: { retries: 0 } });
      expect(await failure(pve.version())).toBeInstanceOf(ProxmoxTlsError);
    });
  });

  describe('simulator faults give typed errors', () => {
    it('cluster down: ProxmoxConnectionError', async () => {
      sim.faults.setClusterDown('sim-1', true);
      await sim.settled();
      const pve = client();
      const error = await failure(pve.clusterResources());
      expect(error).toBeInstanceOf(ProxmoxConnectionError);
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('one endpoint down: fails over to another node', async () => {
      const first = need(simCluster().endpoints[0], 'endpoint').node;
      sim.faults.setEndpointDown('sim-1', first, true);
      await sim.settled();
      const logger = recordingLogger();
      const pve = client({}, { logger });
      expect((await pve.clusterResources()).guests.length).toBeGreaterThan(0);
      expect(await pve.version()).toBeTruthy();
      expect(logger.lines.filter((l) => l.includes('Proxmox endpoint failed'))).toHaveLength(1);
    });

    it('node offline: ProxmoxNodeUnreachableError (595) for its guests', async () => {
      const nodes = simCluster().nodes;
      const offline = need(nodes[nodes.length - 1], 'node');
      const guest = sim.groundTruth('sim-1').find((g) => g.node === offline);
      if (guest === undefined) throw new Error('no guest on the last node');
      sim.faults.setNodeOffline('sim-1', offline, true);
      await sim.settled();
      const pve = client();
      const error = await failure(pve.guestConfig(offline, guest.type, guest.vmid));
      expect(error).toBeInstanceOf(ProxmoxNodeUnreachableError);
      expect(error).toMatchObject({ status: 595, node: offline });
      const { nodes: rows } = await pve.clusterResources();
      expect(rows.find((n) => n.node === offline)?.status).toBe('offline');
    });

    it('wrong node: ProxmoxNotFoundError', async () => {
      const g = firstGuest();
      const other = need(
        simCluster().nodes.find((n) => n !== g.node),
        'second node',
      );
      expect(await failure(client().guestConfig(other, g.type, g.vmid))).toBeInstanceOf(ProxmoxNotFoundError);
    });

    it('hang: ProxmoxTimeoutError within the headers timeout', async () => {
      sim.faults.setHang('sim-1', 'version', true);
      const pve = client({}, { timeouts: { version: { headersMs: 300 } } });
      const error = await failure(pve.version());
      expect(error).toBeInstanceOf(ProxmoxTimeoutError);
      expect(error).toMatchObject({ phase: 'headers', timeoutMs: 300 });
    });

    it('latency above the timeout: ProxmoxTimeoutError', async () => {
      sim.faults.setLatency('sim-1', 'config', 2_000);
      const g = firstGuest();
      const pve = client({}, { timeouts: { config: { headersMs: 200 } } });
      expect(await failure(pve.guestConfig(g.node, g.type, g.vmid))).toMatchObject({ phase: 'headers' });
    });

    it('error rate 500: ProxmoxApiError, not retried', async () => {
      sim.faults.setErrorRate('sim-1', 'resources', 1, 500);
      sim.resetCounters();
      const pve = client();
      const error = await failure(pve.clusterResources());
      expect(error).toBeInstanceOf(ProxmoxApiError);
      expect(error.status).toBe(500);
      expect(sim.counters('sim-1').resources).toBe(1);
    });

    it('error rate 503: retried with jitter, then ProxmoxApiError', async () => {
      sim.faults.setErrorRate('sim-1', 'resources', 1, 503);
      sim.resetCounters();
      const pve = client();
      expect(await failure(pve.clusterResources())).toMatchObject({ status: 503 });
      expect(sim.counters('sim-1').resources).toBe(3);
    });

    it('a power action is never retried', async () => {
      sim.faults.setErrorRate('sim-1', 'power', 1, 503);
      sim.resetCounters();
      const g = need(
        sim.groundTruth('sim-1').find((x) => x.status === 'stopped'),
        'stopped guest',
      );
      expect(await failure(client().powerAction(g.node, g.type, g.vmid, 'start'))).toMatchObject({
        status: 503,
      });
      expect(sim.counters('sim-1').power).toBe(1);
    });

    it('malformed JSON: ProxmoxInvalidResponseError', async () => {
      sim.faults.setMalformed('sim-1', 'resources', true);
      expect(await failure(client().clusterResources())).toBeInstanceOf(ProxmoxInvalidResponseError);
    });

    it('token revoked: ProxmoxAuthError', async () => {
      sim.faults.setTokenRevoked('sim-1', true);
      expect(await failure(client().version())).toBeInstanceOf(ProxmoxAuthError);
    });

    it('a token without the agent privilege on PVE 9: ProxmoxPermissionError naming VM.GuestAgent.Audit and the fix', async () => {
      const g = sim
        .groundTruth('sim-1')
        .find((x) => x.type === 'qemu' && x.status === 'running' && x.agent === 'running');
      if (g === undefined) throw new Error('no running VM with an agent');
      const restricted = { tokenId: 'audit@pve!ro', secret: '11111111-2222-4333-8444-555555555555' };
      sim.addToken('sim-1', { ...restricted, privileges: ['VM.Audit'] });
      const pve = create({ ...base, tokenId: restricted.tokenId }, { tokenSecret: restricted.secret });
      clients.push(pve);
      const error = await failure(pve.agentInterfaces(g.node, g.vmid));
      expect(error).toBeInstanceOf(ProxmoxPermissionError);
      expect(error).toMatchObject({ privilege: 'VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted' });
      expect(error.message).toContain('pveum role modify <role> --privs VM.GuestAgent.Audit --append 1');
    });

    it('no failure leaks the token secret into errors or logs', async () => {
      const logger = recordingLogger();
      const g = firstGuest();
      const pve = client({}, { logger, timeouts: { version: { headersMs: 200 } } });
      const errors: unknown[] = [];
      const collect = (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));
      sim.faults.setTokenRevoked('sim-1', true);
      await collect(pve.version());
      sim.faults.reset();
      sim.faults.setHang('sim-1', 'version', true);
      await collect(pve.version());
      sim.faults.setMalformed('sim-1', 'resources', true);
      await collect(pve.clusterResources());
      sim.faults.setErrorRate('sim-1', 'config', 1, 500);
      await collect(pve.guestConfig(g.node, g.type, g.vmid));
      sim.faults.setNodeOffline('sim-1', need(simCluster().nodes[2], 'node'), true);
      sim.faults.setEndpointDown('sim-1', need(simCluster().nodes[0], 'node'), true);
      await sim.settled();
      await collect(pve.guestStatus(need(simCluster().nodes[2], 'node'), 'qemu', 100));
      sim.faults.setClusterDown('sim-1', true);
      await sim.settled();
      await collect(pve.clusterStatus());
      expect(errors).toHaveLength(6);
      for (const e of errors) {
        expect(e).toBeInstanceOf(ProxmoxError);
        expect(everythingIn(e)).not.toContain(secret);
        expect(JSON.stringify(e)).not.toContain(secret);
      }
      expect(logger.lines.length).toBeGreaterThan(0);
      expect(logger.lines.join('\n')).not.toContain(secret);
    });
  });
});

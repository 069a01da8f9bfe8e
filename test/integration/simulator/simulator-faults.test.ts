import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_CLASSES, type Simulator, startSimulator } from '#simulator/index.ts';
import { control, rows, SimClient, tcpProbe } from './sim-client.ts';

let sim: Simulator;
let client: SimClient;
const CLUSTER = 'sim-1';
// Random high ports so parallel simulators (other test files, a running `npm start`) never collide.
const rdp = 30_000 + Math.floor(Math.random() * 10_000);
const probePorts = { rdp, ssh: rdp + 1 };

async function fault(body: unknown): Promise<void> {
  const r = await control(sim.controlUrl, `/_sim/clusters/${CLUSTER}/faults`, body);
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 2,
    nodesPerCluster: 3,
    guestsPerCluster: 60,
    seed: 7,
    probePorts,
    taskDelayMs: 50,
  });
  const cluster = sim.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  client = new SimClient(cluster);
});

afterAll(async () => {
  await client.close();
  await sim.stop();
});

describe('faults through the control API', () => {
  it('refuses connections on every endpoint while the cluster is down', async () => {
    await fault({ fault: 'clusterDown', down: true });
    for (const e of sim.clusters[0]?.endpoints ?? []) {
      await expect(client.call('/version', { base: e.url })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
    expect((await new SimClient(sim.clusters[1] ?? client.cluster).call('/version')).status).toBe(200);
    await fault({ fault: 'clusterDown', down: false });
    expect((await client.call('/version')).status).toBe(200);
  });

  it('takes one endpoint down so a client can fail over to another node', async () => {
    const [first, second] = sim.clusters[0]?.endpoints ?? [];
    await fault({ fault: 'endpointDown', node: first?.node, down: true });
    await expect(client.call('/version', { base: first?.url })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect((await client.call('/version', { base: second?.url })).status).toBe(200);
    await fault({ fault: 'endpointDown', node: first?.node, down: false });
    expect((await client.call('/version', { base: first?.url })).status).toBe(200);
  });

  it('marks a node offline', async () => {
    const node = sim.clusters[0]?.nodes[2] ?? '';
    await fault({ fault: 'nodeOffline', node, offline: true });
    const r = await client.call(`/nodes/${node}/status`);
    expect(r.status).toBe(595);
    await fault({ fault: 'nodeOffline', node, offline: false });
    expect((await client.call(`/nodes/${node}/status`)).status).toBe(200);
  });

  it('injects errors per endpoint class at the configured rate and status', async () => {
    await fault({ fault: 'errorRate', class: 'version', rate: 1, status: 503 });
    const r = await client.call('/version');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({ data: null, message: expect.any(String) });
    expect((await client.call('/cluster/resources')).status).toBe(200);
    await fault({ fault: 'errorRate', class: 'version', rate: 1, status: 596 });
    const noBody = await client.call('/version');
    expect(noBody.status).toBe(596);
    expect(noBody.text).toBe('');
    await fault({ fault: 'errorRate', class: 'version', rate: 0 });
    expect((await client.call('/version')).status).toBe(200);
  });

  it('adds latency per endpoint class (a short client timeout trips)', async () => {
    await fault({ fault: 'latency', class: 'resources', ms: 5_000 });
    await expect(client.call('/cluster/resources', { headersTimeout: 200 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    expect((await client.call('/version', { headersTimeout: 2_000 })).status).toBe(200);
    await fault({ fault: 'latency', class: 'resources', ms: 0 });
    expect((await client.call('/cluster/resources', { headersTimeout: 2_000 })).status).toBe(200);
  });

  it('hangs a class of calls beyond any timeout', async () => {
    await fault({ fault: 'hang', class: 'nodes', hang: true });
    await expect(client.call('/nodes', { headersTimeout: 300 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    await fault({ fault: 'hang', class: 'nodes', hang: false });
    expect((await client.call('/nodes')).status).toBe(200);
  });

  it('sends malformed JSON with status 200', async () => {
    await fault({ fault: 'malformed', class: 'resources', malformed: true });
    const r = await client.call('/cluster/resources');
    expect(r.status).toBe(200);
    expect(() => JSON.parse(r.text)).toThrow();
    await fault({ fault: 'malformed', class: 'resources', malformed: false });
    expect(() => JSON.parse(r.text)).toThrow();
  });

  it('revokes the token (401, as if deleted) and restores it', async () => {
    await fault({ fault: 'tokenRevoked', revoked: true });
    const r = await client.call('/version');
    expect(r.status).toBe(401);
    expect(r.reason).toBe(`no such token 'sim' for user 'root@pam'`);
    await fault({ fault: 'tokenRevoked', revoked: false });
    expect((await client.call('/version')).status).toBe(200);
  });

  it('rejects an unknown fault with 400 and resets everything', async () => {
    const bad = await control(sim.controlUrl, `/_sim/clusters/${CLUSTER}/faults`, { fault: 'meteor' });
    expect(bad.status).toBe(400);
    sim.faults.setErrorRate(CLUSTER, 'version', 1);
    sim.faults.setClusterDown(CLUSTER, true);
    expect((await control(sim.controlUrl, '/_sim/faults/reset', {})).status).toBe(200);
    expect((await client.call('/version')).status).toBe(200);
  });
});

describe('call counters', () => {
  it('counts every API call exactly per endpoint class, also through the control API', async () => {
    sim.resetCounters();
    const node = sim.clusters[0]?.nodes[0] ?? '';
    const g = rows(await client.data('/cluster/resources?type=vm')).find(
      (r) => r.node === node && r.type === 'qemu',
    );
    await client.call('/version');
    await client.call('/version');
    await client.call(`/nodes/${node}/qemu/${g?.vmid}/config`);
    await client.call(`/nodes/${node}/qemu/${g?.vmid}/status/current`);
    await client.call(`/nodes/${node}/qemu/${g?.vmid}/agent/network-get-interfaces`);
    await client.call('/nope');
    await client.call('/version', { auth: false });
    const expected = Object.fromEntries(ENDPOINT_CLASSES.map((c) => [c, 0]));
    Object.assign(expected, { resources: 1, version: 3, config: 1, status: 1, agent: 1, other: 1, total: 8 });
    expect(sim.counters(CLUSTER)).toEqual(expected);
    expect((await control(sim.controlUrl, `/_sim/clusters/${CLUSTER}/counters`)).json).toEqual(expected);
    expect(sim.counters('sim-2').total).toBe(0);
    await control(sim.controlUrl, '/_sim/counters/reset', {});
    expect(sim.counters(CLUSTER).total).toBe(0);
  });
});

describe('probe listeners', () => {
  it('accepts on a reachable guest IP and refuses on an unreachable one', async () => {
    await sim.settled();
    const truth = sim.groundTruth(CLUSTER);
    const ssh = truth.find((g) => g.sshReachable && g.expectedIp !== null);
    const win = truth.find((g) => g.rdpReachable && g.expectedIp !== null);
    const closed = truth.find((g) => !g.sshReachable && !g.rdpReachable && g.expectedIp !== null);
    if (ssh?.expectedIp == null || win?.expectedIp == null || closed?.expectedIp == null) {
      throw new Error('fixture fleet lacks reachable/unreachable guests');
    }
    const open = await tcpProbe(ssh.expectedIp, probePorts.ssh);
    expect(open).toEqual({ ok: true, greeting: expect.stringMatching(/^SSH-2\.0-/) });
    expect((await tcpProbe(win.expectedIp, probePorts.rdp)).ok).toBe(true);
    expect(await tcpProbe(closed.expectedIp, probePorts.ssh)).toEqual({ ok: false, code: 'ECONNREFUSED' });
    expect(await tcpProbe(closed.expectedIp, probePorts.rdp)).toEqual({ ok: false, code: 'ECONNREFUSED' });
  });

  it('stops listening when the guest stops', async () => {
    const g = sim.groundTruth(CLUSTER).find((x) => x.sshReachable && x.expectedIp !== null);
    if (g?.expectedIp == null) throw new Error('no reachable guest');
    sim.setGuestStatus(CLUSTER, g.vmid, 'stopped');
    await sim.settled();
    expect(await tcpProbe(g.expectedIp, probePorts.ssh)).toEqual({ ok: false, code: 'ECONNREFUSED' });
    sim.setGuestStatus(CLUSTER, g.vmid, 'running');
    await sim.settled();
    expect((await tcpProbe(g.expectedIp, probePorts.ssh)).ok).toBe(true);
  });
});

describe('fleet mutation and clusterConfig', () => {
  it('creates guests at the lowest free VMID and destroys them', () => {
    sim.destroyGuest(CLUSTER, 100);
    expect(sim.guest(CLUSTER, 100)).toBeUndefined();
    expect(sim.createGuest(CLUSTER, { name: 'fresh', type: 'lxc' })).toBe(100);
    expect(sim.guest(CLUSTER, 100)).toEqual(
      expect.objectContaining({ name: 'fresh', type: 'lxc', status: 'running' }),
    );
  });

  it('writes a contract-1 configuration with pinned fingerprints', () => {
    const cfg = sim.clusterConfig({ secretFile: 'clusters.secret' });
    expect(cfg.clusters[0]).toEqual({
      id: 'sim-1',
      name: 'Simulated Cluster 1',
      endpoints: sim.clusters[0]?.endpoints.map((e) => ({
        url: e.url,
        fingerprint: sim.clusters[0]?.fingerprint,
      })),
      tokenId: 'root@pam!sim',
      tokenSecret: { file: 'clusters.secret' },
      simulated: true,
      probePorts,
      maxInFlightPerNode: 3,
    });
    expect(sim.clusterConfig().clusters[1]?.tokenSecret).toEqual({ env: 'PVE_SIM_TOKEN' });
    expect(sim.clusters[0]?.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

describe('stop', () => {
  it('leaves nothing listening', async () => {
    const other = await startSimulator({
      clusters: 1,
      nodesPerCluster: 2,
      guestsPerCluster: 20,
      seed: 11,
      probePorts: { rdp: probePorts.rdp + 2, ssh: probePorts.ssh + 2 },
    });
    const truth = other.groundTruth('sim-1').find((g) => g.sshReachable && g.expectedIp !== null);
    if (truth?.expectedIp == null) throw new Error('no reachable guest');
    const ports = other.clusters[0]?.ports ?? [];
    const controlPort = Number(new URL(other.controlUrl).port);
    expect((await tcpProbe(truth.expectedIp, probePorts.ssh + 2)).ok).toBe(true);
    sim.faults.setHang(CLUSTER, 'version', true);
    other.faults.setHang('sim-1', 'version', true);
    const hung = new SimClient(other.clusters[0] ?? client.cluster);
    const pending = hung.call('/version').catch((err: unknown) => err);
    await other.stop();
    expect(await pending).toBeInstanceOf(Error);
    await hung.close();
    for (const port of [...ports, controlPort]) {
      expect(await tcpProbe('127.0.0.1', port)).toEqual({ ok: false, code: 'ECONNREFUSED' });
    }
    expect(await tcpProbe(truth.expectedIp, probePorts.ssh + 2)).toEqual({ ok: false, code: 'ECONNREFUSED' });
    sim.faults.reset();
  });
});

import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GroundTruthGuest, type PveMajor, type Simulator, startSimulator } from '#simulator/index.ts';
import { type Row, row, rows, SimClient } from './sim-client.ts';

/** What each simulated version must show, written out rather than read from the profiles. */
const VERSIONS: {
  version: PveMajor;
  release: RegExp;
  agentPrivileges: string;
  pve9Shapes: boolean;
}[] = [
  { version: 8, release: /^8\.4\.\d+$/, agentPrivileges: 'VM.Monitor', pve9Shapes: false },
  {
    version: 9,
    release: /^9\.\d+\.\d+$/,
    agentPrivileges: 'VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted',
    pve9Shapes: true,
  },
];
const CLUSTER = 'sim-1';

describe.each(VERSIONS)(
  'the simulator speaking PVE $version',
  ({ version, release, agentPrivileges, pve9Shapes }) => {
    let sim: Simulator;
    let client: SimClient;
    let truth: GroundTruthGuest[];

    beforeAll(async () => {
      sim = await startSimulator({
        clusters: 1,
        nodesPerCluster: 3,
        guestsPerCluster: 40,
        probeListeners: false,
        drift: false,
        taskDelayMs: 50,
        pveVersion: version,
      });
      const cluster = sim.clusters[0];
      if (cluster === undefined) throw new Error('no cluster');
      client = new SimClient(cluster);
      truth = sim.groundTruth(CLUSTER);
    });

    afterAll(async () => {
      await client?.close();
      await sim?.stop();
    });

    const guestPath = (g: GroundTruthGuest, sub: string) => `/nodes/${g.node}/${g.type}/${g.vmid}${sub}`;
    const bySlot = (slot: number): GroundTruthGuest => {
      const g = truth[slot];
      if (g === undefined) throw new Error(`no guest in slot ${slot}`);
      return g;
    };

    it('answers /version and node status with its release', async () => {
      expect(sim.clusters[0]?.pveVersion).toBe(version);
      expect(row(await client.data('/version')).version).toMatch(release);
      const status = row(await client.data(`/nodes/${bySlot(0).node}/status`));
      expect(String(status.pveversion).split('/')[1]).toMatch(release);
    });

    it('lists memhost, host-arch and network rows only where the version has them', async () => {
      const all = rows(await client.data('/cluster/resources'));
      const running = all.filter((r) => r.type === 'qemu' && r.status === 'running');
      expect(running.length).toBeGreaterThan(0);
      expect(running.every((r) => 'memhost' in r)).toBe(pve9Shapes);
      // A VM without balloon statistics reports the host figure on 9, which exceeds its allotment.
      const first = all.find((r) => r.vmid === bySlot(0).vmid);
      expect(Number(first?.mem) > Number(first?.maxmem)).toBe(pve9Shapes);
      const nodes = all.filter((r) => r.type === 'node');
      expect(nodes).toHaveLength(3);
      for (const n of nodes) expect(n['host-arch']).toBe(pve9Shapes ? 'x86_64' : undefined);
      // The HA node state is there on both (since 8.3) once the cluster uses HA.
      expect(truth.some((g) => g.hastate !== undefined)).toBe(true);
      for (const n of nodes) expect(n.hastate).toBe('online');
      const types = new Set(all.map((r) => r.type));
      expect(types.has('network')).toBe(pve9Shapes);
      expect(types.has('sdn')).toBe(!pve9Shapes);
      const filtered = await client.call('/cluster/resources?type=network');
      expect(filtered.status).toBe(400);
    });

    it('names the HA group in status/current only before HA rules, and memhost and pressure after', async () => {
      const ha = truth.find((g) => g.hastate !== undefined && g.type === 'qemu' && g.status === 'running');
      if (ha === undefined) throw new Error('fleet has no running HA VM');
      const status = row(await client.data(guestPath(ha, '/status/current')));
      expect(row(status.ha).managed).toBe(1);
      expect(row(status.ha).state).toBe('started');
      expect('group' in row(status.ha)).toBe(!pve9Shapes);
      expect('memhost' in status).toBe(pve9Shapes);
      expect('pressurecpusome' in status).toBe(pve9Shapes);
    });

    it('shows ha.state null for a guest the HA manager has not processed yet on 9 only', async () => {
      const g = truth.find((x) => x.hastate === undefined && x.status === 'stopped' && !x.template);
      if (g === undefined) throw new Error('fleet has no stopped guest outside HA');
      sim.addToHa(CLUSTER, g.vmid, { crmDelayMs: 60_000 });
      const fresh = row(row(await client.data(guestPath(g, '/status/current'))).ha);
      expect(fresh).toMatchObject({ managed: 1, state: pve9Shapes ? null : 'stopped' });
      sim.advance(60_000);
      const processed = row(row(await client.data(guestPath(g, '/status/current'))).ha);
      expect(processed).toMatchObject({ managed: 1, state: 'stopped' });
    });

    it('checks the agent privilege of its version, and ignores the other name', async () => {
      const g = truth.find((x) => x.type === 'qemu' && x.agent === 'running' && x.status === 'running');
      if (g === undefined) throw new Error('fleet has no VM with a running agent');
      sim.addToken(CLUSTER, {
        tokenId: 'inv@pve!pve8role',
        secret: 's8',
        privileges: ['VM.Audit', 'VM.Monitor'],
      });
      sim.addToken(CLUSTER, {
        tokenId: 'inv@pve!pve9role',
        secret: 's9',
        privileges: ['VM.Audit', 'VM.GuestAgent.Audit'],
      });
      const path = guestPath(g, '/agent/network-get-interfaces');
      const with8 = await client.call(path, {
        headers: { authorization: 'PVEAPIToken=inv@pve!pve8role=s8' },
      });
      const with9 = await client.call(path, {
        headers: { authorization: 'PVEAPIToken=inv@pve!pve9role=s9' },
      });
      const denied = `Permission check failed (/vms/${g.vmid}, ${agentPrivileges})`;
      expect([with8.status, with8.status === 403 ? with8.reason : 'ok']).toEqual(
        pve9Shapes ? [403, denied] : [200, 'ok'],
      );
      expect([with9.status, with9.status === 403 ? with9.reason : 'ok']).toEqual(
        pve9Shapes ? [200, 'ok'] : [403, denied],
      );
    });

    it('nests pools on 9 and answers /pools?poolid= with an array on both', async () => {
      const pooled = truth.filter((g) => g.pool !== undefined);
      expect(pooled.some((g) => g.pool?.includes('/'))).toBe(pve9Shapes);
      const poolRows = rows(await client.data('/cluster/resources')).filter((r) => r.type === 'pool');
      const ids = poolRows.map((r) => r.pool);
      for (const g of pooled) {
        // Every ancestor of a nested pool is a pool too.
        const parts = g.pool?.split('/') ?? [];
        for (let i = 1; i <= parts.length; i++) expect(ids).toContain(parts.slice(0, i).join('/'));
      }
      const deepest = [...pooled].sort((a, b) => (b.pool?.length ?? 0) - (a.pool?.length ?? 0))[0];
      if (deepest?.pool === undefined) throw new Error('fleet has no pooled guest');
      const answer = rows(await client.data(`/pools?poolid=${encodeURIComponent(deepest.pool)}`));
      expect(answer).toHaveLength(1);
      expect(answer[0]?.poolid).toBe(deepest.pool);
      expect(rows(answer[0]?.members).map((m) => m.vmid)).toContain(deepest.vmid);
      const legacy = await client.call(`/pools/${encodeURIComponent(deepest.pool)}`);
      expect(legacy.status).toBe(pve9Shapes ? 400 : 200);
    });

    it('returns raw lxc.* keys as [key, value] pairs, and OCI-image containers on 9', async () => {
      const tuned = bySlot(3);
      const oci = bySlot(5);
      expect([tuned.type, oci.type]).toEqual(['lxc', 'lxc']);
      const tunedConfig = row(await client.data(guestPath(tuned, '/config')));
      expect(tunedConfig.lxc).toContainEqual(['lxc.cgroup2.devices.allow', 'c 10:200 rwm']);
      const ociConfig: Row = row(await client.data(guestPath(oci, '/config')));
      if (pve9Shapes) {
        expect(ociConfig.lxc).toContainEqual(['lxc.signal.halt', 'SIGQUIT']);
        expect(ociConfig.entrypoint).toEqual(expect.any(String));
        expect(String(ociConfig.env)).toContain('\0');
        expect(String(ociConfig.net0)).toContain('host-managed=1');
      } else {
        expect(ociConfig).not.toHaveProperty('lxc');
        expect(ociConfig).not.toHaveProperty('entrypoint');
      }
    });
  },
);

describe('a simulated cluster part-way through the upgrade from 8 to 9', () => {
  let sim: Simulator;
  let client: SimClient;

  beforeAll(async () => {
    sim = await startSimulator({
      clusters: 1,
      nodesPerCluster: 3,
      guestsPerCluster: 30,
      probeListeners: false,
      drift: false,
      pveVersion: 9,
    });
    const cluster = sim.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    client = new SimClient(cluster);
    // The first node (the endpoint the client talks to) still runs 8.4.
    sim.setNodeVersion(CLUSTER, cluster.nodes[0] ?? '', 8);
  });

  afterAll(async () => {
    await client?.close();
    await sim?.stop();
  });

  it('lists the guests of upgraded nodes as unknown without stats when asked through an 8.4 node', async () => {
    const first = sim.clusters[0]?.nodes[0];
    const listed = rows(await client.data('/cluster/resources?type=vm'));
    const truth = sim.groundTruth(CLUSTER);
    expect(listed).toHaveLength(truth.length);
    for (const r of listed) {
      if (r.node === first) expect(r.status).not.toBe('unknown');
      else
        expect(r).toEqual({
          id: r.id,
          type: r.type,
          vmid: r.vmid,
          node: r.node,
          status: 'unknown',
          ...pick(r),
        });
    }
    expect(row(await client.data('/version')).version).toMatch(/^8\.4\./);
  });

  it('needs both agent privilege names for an agent call from an 8 node to a 9 node', async () => {
    const first = sim.clusters[0]?.nodes[0];
    const g = sim
      .groundTruth(CLUSTER)
      .find((x) => x.type === 'qemu' && x.agent === 'running' && x.status === 'running' && x.node !== first);
    if (g === undefined) throw new Error('fleet has no VM with a running agent on an upgraded node');
    const tokens = {
      old: ['VM.Audit', 'VM.Monitor'],
      renamed: ['VM.Audit', 'VM.GuestAgent.Audit'],
      both: ['VM.Audit', 'VM.Monitor', 'VM.GuestAgent.Audit'],
    };
    const reasons: Record<string, string> = {};
    for (const [name, privileges] of Object.entries(tokens)) {
      sim.addToken(CLUSTER, { tokenId: `mix@pve!${name}`, secret: name, privileges });
      const r = await client.call(`/nodes/${g.node}/qemu/${g.vmid}/agent/network-get-interfaces`, {
        headers: { authorization: `PVEAPIToken=mix@pve!${name}=${name}` },
      });
      reasons[name] = r.status === 200 ? 'ok' : r.reason;
    }
    expect(reasons).toEqual({
      old: `Permission check failed (/vms/${g.vmid}, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)`,
      renamed: `Permission check failed (/vms/${g.vmid}, VM.Monitor)`,
      both: 'ok',
    });
  });
});

/** The optional fields PVE still sends for a guest without stats. */
function pick(r: Row): Row {
  const out: Row = {};
  for (const k of ['tags', 'lock', 'hastate', 'pool']) if (k in r) out[k] = r[k];
  return out;
}

describe('node certificate renewal', () => {
  it('changes the fingerprint and keeps the chain to the cluster CA', async () => {
    const sim = await startSimulator({
      clusters: 1,
      nodesPerCluster: 1,
      guestsPerCluster: 3,
      probeListeners: false,
    });
    const cluster = sim.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const client = new SimClient(cluster);
    try {
      const before = cluster.fingerprint;
      expect((await client.call('/version')).status).toBe(200);
      await sim.renewCertificate(CLUSTER);
      expect(sim.clusters[0]?.fingerprint).not.toBe(before);
      // The client trusts only the CA: the renewed certificate still verifies.
      expect((await client.call('/version')).status).toBe(200);
      expect(new X509Certificate(cluster.certPem).ca).toBe(true);
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});

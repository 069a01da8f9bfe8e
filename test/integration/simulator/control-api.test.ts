import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '#simulator/index.ts';
import { control, row, rows, SimClient } from './sim-client.ts';

let sim: Simulator;
let client: SimClient;
const C = 'sim-1';

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 2,
    guestsPerCluster: 30,
    seed: 5,
    probeListeners: false,
  });
  const cluster = sim.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  client = new SimClient(cluster);
});

afterAll(async () => {
  await client.close();
  await sim.stop();
});

describe('control API', () => {
  it('lists clusters without their certificates', async () => {
    const r = await control(sim.controlUrl, '/_sim/clusters');
    expect(r.status).toBe(200);
    const [first] = rows(r.json);
    expect(first).toEqual(
      expect.objectContaining({ id: C, tokenId: 'root@pam!sim', nodes: ['pve1n1', 'pve1n2'] }),
    );
    expect(first).not.toHaveProperty('certPem');
  });

  it('adds a restricted token', async () => {
    const body = { tokenId: 'lab@pve!one', secret: 'one-secret', vmids: [101] };
    expect((await control(sim.controlUrl, `/_sim/clusters/${C}/tokens`, body)).status).toBe(200);
    const r = await client.call('/cluster/resources?type=vm', {
      headers: { authorization: 'PVEAPIToken=lab@pve!one=one-secret' },
    });
    expect(rows(JSON.parse(r.text).data).map((x) => x.vmid)).toEqual([101]);
    const bad = await control(sim.controlUrl, `/_sim/clusters/${C}/tokens`, {
      tokenId: 'no-realm',
      secret: 'x',
    });
    expect(bad.status).toBe(400);
  });

  it('creates, changes and destroys guests, visible in the API and the ground truth', async () => {
    const created = await control(sim.controlUrl, `/_sim/clusters/${C}/guests`, {
      name: 'new-vm',
      status: 'stopped',
    });
    const vmid = Number(row(created.json).vmid);
    expect(vmid).toBeGreaterThanOrEqual(100);
    const truth = await control(sim.controlUrl, `/_sim/clusters/${C}/ground-truth`);
    expect(rows(truth.json).find((g) => g.vmid === vmid)).toEqual(
      expect.objectContaining({ name: 'new-vm', status: 'stopped' }),
    );
    await control(sim.controlUrl, `/_sim/clusters/${C}/guests/${vmid}/status`, { status: 'running' });
    expect(sim.guest(C, vmid)?.status).toBe('running');
    const res = rows(await client.data('/cluster/resources?type=vm'));
    expect(res.find((r) => r.vmid === vmid)?.name).toBe('new-vm');
    const del = await request(`${sim.controlUrl}/_sim/clusters/${C}/guests/${vmid}`, { method: 'DELETE' });
    await del.body.dump();
    expect(del.statusCode).toBe(200);
    expect(sim.guest(C, vmid)).toBeUndefined();
    expect((await control(sim.controlUrl, `/_sim/clusters/${C}/guests/99999`)).status).toBe(404);
    expect((await control(sim.controlUrl, '/_sim/clusters/sim-9/counters')).status).toBe(404);
  });

  it("changes a running guest's live address; only loopback addresses are accepted", async () => {
    const g = sim
      .groundTruth(C)
      .find((x) => x.type === 'qemu' && x.status === 'running' && x.agent === 'running' && !x.template);
    if (g === undefined) throw new Error('no running guest with a running agent');
    const set = await control(sim.controlUrl, `/_sim/clusters/${C}/guests/${g.vmid}/ip`, {
      ip: '127.202.0.4',
    });
    expect(set.status).toBe(200);
    const live = await client.data(`/nodes/${g.node}/qemu/${g.vmid}/agent/network-get-interfaces`);
    expect(JSON.stringify(live)).toContain('"ip-address":"127.202.0.4"');
    expect(sim.guest(C, g.vmid)?.expectedIp).toBe('127.202.0.4');
    const outside = await control(sim.controlUrl, `/_sim/clusters/${C}/guests/${g.vmid}/ip`, {
      ip: '10.0.0.4',
    });
    expect(outside.status).toBe(400);
    const missing = await control(sim.controlUrl, `/_sim/clusters/${C}/guests/99999/ip`, { ip: '127.0.0.9' });
    expect(missing.status).toBe(404);
  });

  it('advances simulated time so tasks complete without waiting', async () => {
    const g = sim
      .groundTruth(C)
      .find((x) => x.status === 'stopped' && !x.template && x.lock === undefined && x.hastate === undefined);
    if (g === undefined) throw new Error('no plain stopped guest');
    const r = await client.call(`/nodes/${g.node}/${g.type}/${g.vmid}/status/start`, { method: 'POST' });
    const upid = String(JSON.parse(r.text).data);
    expect((await control(sim.controlUrl, '/_sim/advance', { ms: 60_000 })).status).toBe(200);
    const task = await client.data(`/nodes/${g.node}/tasks/${encodeURIComponent(upid)}/status`);
    expect(task).toEqual(expect.objectContaining({ status: 'stopped', exitstatus: 'OK' }));
    expect(sim.guest(C, g.vmid)?.status).toBe('running');
  });

  it('is also served on the cluster endpoints, outside /api2/json and uncounted', async () => {
    sim.resetCounters();
    const r = await request(`${client.cluster.url}/_sim/counters`, { dispatcher: client.agent });
    const json: unknown = await r.body.json();
    expect(r.statusCode).toBe(200);
    expect(json).toEqual({ [C]: expect.objectContaining({ total: 0 }) });
  });
});

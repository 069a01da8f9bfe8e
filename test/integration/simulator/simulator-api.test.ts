import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GroundTruthGuest, type Simulator, startSimulator } from '#simulator/index.ts';
import { row, rows, SimClient } from './sim-client.ts';

let sim: Simulator;
let client: SimClient;
let truth: GroundTruthGuest[];
const CLUSTER = 'sim-1';

function pick(p: (g: GroundTruthGuest) => boolean, what: string): GroundTruthGuest {
  const g = sim.groundTruth(CLUSTER).find(p);
  if (g === undefined) throw new Error(`fixture fleet has no ${what}`);
  return g;
}

const plain = (g: GroundTruthGuest) => g.hastate === undefined && g.lock === undefined && !g.template;

async function waitTask(upid: string, node: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const s = row(await client.data(`/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`));
    if (s.status === 'stopped') return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`task ${upid} did not finish`);
}

async function power(g: GroundTruthGuest, action: string) {
  return client.call(`/nodes/${g.node}/${g.type}/${g.vmid}/status/${action}`, { method: 'POST' });
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 2,
    nodesPerCluster: 3,
    guestsPerCluster: 100,
    seed: 1,
    probeListeners: false,
    taskDelayMs: 100,
  });
  const cluster = sim.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  client = new SimClient(cluster);
  truth = sim.groundTruth(CLUSTER);
});

afterAll(async () => {
  await client.close();
  await sim.stop();
});

describe('envelope and shapes', () => {
  it('wraps results in {"data": ...} with PVE version fields (PVE 9 by default)', async () => {
    const r = await client.call('/version');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(JSON.parse(r.text)).toEqual({
      data: {
        version: expect.stringMatching(/^9\.\d+\.\d+$/),
        release: expect.any(String),
        repoid: expect.any(String),
      },
    });
  });

  it('lists guest, node, storage and pool rows in /cluster/resources with 0/1 booleans', async () => {
    const all = rows(await client.data('/cluster/resources'));
    const types = new Set(all.map((r) => r.type));
    for (const t of ['qemu', 'lxc', 'node', 'storage', 'pool']) expect(types).toContain(t);
    const guests = all.filter((r) => r.type === 'qemu' || r.type === 'lxc');
    expect(guests).toHaveLength(truth.length);
    for (const g of guests) expect([0, 1]).toContain(g.template);
    const vmOnly = rows(await client.data('/cluster/resources?type=vm'));
    expect(new Set(vmOnly.map((r) => r.type))).toEqual(new Set(['qemu', 'lxc']));
  });

  it('returns QEMU memory as a string and LXC memory as a number in configs', async () => {
    const vm = pick((g) => g.type === 'qemu', 'qemu');
    const ct = pick((g) => g.type === 'lxc', 'lxc');
    const vmConf = row(await client.data(`/nodes/${vm.node}/qemu/${vm.vmid}/config`));
    const ctConf = row(await client.data(`/nodes/${ct.node}/lxc/${ct.vmid}/config`));
    expect(typeof vmConf.memory).toBe('string');
    expect(typeof ctConf.memory).toBe('number');
    expect(vmConf.digest).toMatch(/^[0-9a-f]{40}$/);
    expect(String(vmConf.net0)).toContain(vm.mac);
  });

  it('shows the QEMU run state (paused) in resources and qmpstatus in status/current', async () => {
    const paused = pick((g) => g.status === 'paused', 'paused VM');
    const res = rows(await client.data('/cluster/resources?type=vm')).find((r) => r.vmid === paused.vmid);
    expect(res?.status).toBe('paused');
    const cur = row(await client.data(`/nodes/${paused.node}/qemu/${paused.vmid}/status/current`));
    expect(cur.status).toBe('running');
    expect(cur.qmpstatus).toBe('paused');
    expect(cur.ha).toEqual(expect.objectContaining({ managed: expect.any(Number) }));
  });

  it('reports the agent states like PVE', async () => {
    const notRunning = pick((g) => g.agent === 'not-running' && g.status === 'running', 'agent not running');
    const r = await client.call(
      `/nodes/${notRunning.node}/qemu/${notRunning.vmid}/agent/network-get-interfaces`,
    );
    expect(r.status).toBe(500);
    expect(r.reason).toBe('QEMU guest agent is not running');
    expect(JSON.parse(r.text)).toEqual({ data: null, message: 'QEMU guest agent is not running\n' });
    const none = pick((g) => g.agent === 'none' && g.status === 'running', 'VM without agent');
    const r2 = await client.call(`/nodes/${none.node}/qemu/${none.vmid}/agent/network-get-interfaces`);
    expect(r2.reason).toBe('No QEMU guest agent configured');
    const ok = pick((g) => g.agent === 'running' && g.status === 'running' && g.type === 'qemu', 'agent');
    const data = row(await client.data(`/nodes/${ok.node}/qemu/${ok.vmid}/agent/network-get-interfaces`));
    const ifaces = rows(data.result);
    expect(ifaces.some((i) => JSON.stringify(i).includes('127.0.0.1'))).toBe(true);
    const first = ifaces.find((i) => String(i['hardware-address']).toUpperCase() === ok.mac);
    expect(JSON.stringify(first)).toContain(`"${ok.expectedIp}"`);
  });

  it('returns null interfaces for a stopped container and inet addresses for a running one', async () => {
    const stopped = pick((g) => g.type === 'lxc' && g.status === 'stopped', 'stopped CT');
    expect(
      JSON.parse((await client.call(`/nodes/${stopped.node}/lxc/${stopped.vmid}/interfaces`)).text),
    ).toEqual({
      data: null,
    });
    const running = pick((g) => g.type === 'lxc' && g.status === 'running', 'running CT');
    const ifaces = rows(await client.data(`/nodes/${running.node}/lxc/${running.vmid}/interfaces`));
    const eth0 = ifaces.find((i) => i.name === 'eth0');
    expect(eth0?.inet).toBe(`${running.expectedIp}/8`);
    expect(JSON.stringify(eth0)).toContain('"ip-address-type":"inet"');
  });

  it('answers unknown paths with 501 and a guest on the wrong node with 500', async () => {
    const r = await client.call('/nope');
    expect(r.status).toBe(501);
    expect(r.reason).toBe("Method 'GET /api2/json/nope' not implemented");
    const g = pick((x) => x.type === 'qemu', 'qemu');
    const other = sim.clusters[0]?.nodes.find((n) => n !== g.node) ?? '';
    const r2 = await client.call(`/nodes/${other}/qemu/${g.vmid}/config`);
    expect(r2.status).toBe(500);
    expect(r2.reason).toBe(`Configuration file 'nodes/${other}/qemu-server/${g.vmid}.conf' does not exist`);
  });

  it('serves the other read calls', async () => {
    const node = sim.clusters[0]?.nodes[0] ?? '';
    const g = pick((x) => x.pool !== undefined, 'pooled guest');
    expect(rows(await client.data('/cluster/status'))[0]).toEqual(
      expect.objectContaining({ type: 'cluster', quorate: 1 }),
    );
    expect(rows(await client.data('/nodes'))).toHaveLength(3);
    expect(row(await client.data(`/nodes/${node}/status`)).cpuinfo).toBeDefined();
    expect(rows(await client.data(`/nodes/${node}/network`)).some((n) => n.iface === 'vmbr0')).toBe(true);
    expect(rows(await client.data(`/nodes/${node}/qemu`)).length).toBeGreaterThan(0);
    expect(rows(await client.data(`/nodes/${node}/lxc`)).every((r) => r.type === 'lxc')).toBe(true);
    expect(rows(await client.data(`/nodes/${g.node}/${g.type}/${g.vmid}/snapshot`)).at(-1)?.name).toBe(
      'current',
    );
    expect(rows(await client.data('/pools')).map((p) => p.poolid)).toContain(g.pool);
    const [pool] = rows(await client.data(`/pools?poolid=${encodeURIComponent(g.pool ?? '')}`));
    expect(pool?.poolid).toBe(g.pool);
    expect(rows(pool?.members).map((m) => m.vmid)).toContain(g.vmid);
  });
});

describe('authentication and permissions', () => {
  it("rejects a wrong token with 401, PVE's reason and no body", async () => {
    const r = await client.call('/version', { headers: { authorization: 'PVEAPIToken=root@pam!sim=wrong' } });
    expect(r.status).toBe(401);
    expect(r.reason).toBe('invalid token value!');
    expect(r.text).toBe('');
    const none = await client.call('/version', { auth: false });
    expect(none.status).toBe(401);
    expect(none.reason).toBe('No ticket');
  });

  it('filters /cluster/resources for a restricted token and gives 403 elsewhere', async () => {
    const [a, b, c] = truth;
    if (a === undefined || b === undefined || c === undefined) throw new Error('fleet too small');
    sim.addToken(CLUSTER, {
      tokenId: 'audit@pve!ro',
      secret: 'ro-secret',
      vmids: [a.vmid, b.vmid],
      privileges: ['VM.Audit'],
    });
    const headers = { authorization: 'PVEAPIToken=audit@pve!ro=ro-secret' };
    const res = rows(JSON.parse((await client.call('/cluster/resources?type=vm', { headers })).text).data);
    expect(res.map((r) => r.vmid).sort()).toEqual([a.vmid, b.vmid].sort());
    const denied = await client.call(`/nodes/${c.node}/${c.type}/${c.vmid}/config`, { headers });
    expect(denied.status).toBe(403);
    expect(denied.reason).toBe(`Permission check failed (/vms/${c.vmid}, VM.Audit)`);
    expect(JSON.parse(denied.text).message).toBe(`${denied.reason}\n`);
    const monitor = await client.call(`/nodes/${a.node}/${a.type}/${a.vmid}/agent/network-get-interfaces`, {
      headers,
    });
    expect(monitor.reason).toBe(
      `Permission check failed (/vms/${a.vmid}, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)`,
    );
    const status = await client.call('/cluster/status', { headers });
    expect(status.reason).toBe('Permission check failed (/, Sys.Audit)');
  });

  it('issues tickets and enforces the CSRF token on writes', async () => {
    const bad = await client.call('/access/ticket', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=root@pam&password=nope',
    });
    expect(bad.status).toBe(401);
    const login = await client.call('/access/ticket', {
      method: 'POST',
      auth: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=root&realm=pam&password=simulator',
    });
    const data = row(JSON.parse(login.text).data);
    expect(String(data.ticket)).toMatch(/^PVE:root@pam:[0-9A-F]{8}::/);
    const cookie = `PVEAuthCookie=${encodeURIComponent(String(data.ticket))}`;
    expect((await client.call('/version', { headers: { cookie } })).status).toBe(200);
    const g = pick((x) => plain(x) && x.type === 'qemu' && x.status === 'stopped', 'stopped VM');
    const path = `/nodes/${g.node}/qemu/${g.vmid}/status/stop`;
    const noCsrf = await client.call(path, { method: 'POST', headers: { cookie } });
    expect(noCsrf.status).toBe(401);
    expect(noCsrf.reason).toBe('Permission denied - invalid csrf token');
    const withCsrf = await client.call(path, {
      method: 'POST',
      headers: { cookie, csrfpreventiontoken: String(data.CSRFPreventionToken) },
    });
    expect(withCsrf.status).toBe(200);
    expect(JSON.parse(withCsrf.text).data).toMatch(/:qmstop:\d+:root@pam:$/);
  });
});

describe('power actions', () => {
  it('stops a running VM through a task and reports the UPID format', async () => {
    const g = pick((x) => plain(x) && x.type === 'qemu' && x.status === 'running', 'running VM');
    const r = await power(g, 'stop');
    const upid = String(JSON.parse(r.text).data);
    expect(upid).toMatch(
      /^UPID:[a-zA-Z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmstop:\d+:root@pam!sim:$/,
    );
    const done = await waitTask(upid, g.node);
    expect(done).toEqual(
      expect.objectContaining({ exitstatus: 'OK', user: 'root@pam', tokenid: 'sim', type: 'qmstop' }),
    );
    expect(sim.guest(CLUSTER, g.vmid)?.status).toBe('stopped');
  });

  it('fails the start task of a running VM and of a template', async () => {
    const running = pick((x) => plain(x) && x.type === 'qemu' && x.status === 'running', 'running VM');
    const t1 = await waitTask(String(JSON.parse((await power(running, 'start')).text).data), running.node);
    expect(t1.exitstatus).toBe(`VM ${running.vmid} already running`);
    const tpl = pick(
      (x) => x.template && x.type === 'qemu' && x.hastate === undefined && x.lock === undefined,
      'template',
    );
    const t2 = await waitTask(String(JSON.parse((await power(tpl, 'start')).text).data), tpl.node);
    expect(t2.exitstatus).toBe("you can't start a vm if it's a template");
  });

  it('fails at once for container start/stop in the wrong state and reboot of a stopped VM', async () => {
    const ct = pick((x) => plain(x) && x.type === 'lxc' && x.status === 'running', 'running CT');
    const r = await power(ct, 'start');
    expect(r.status).toBe(500);
    expect(r.reason).toBe(`CT ${ct.vmid} already running`);
    const ctStopped = pick((x) => plain(x) && x.type === 'lxc' && x.status === 'stopped', 'stopped CT');
    expect((await power(ctStopped, 'stop')).reason).toBe(`CT ${ctStopped.vmid} not running`);
    const vm = pick((x) => plain(x) && x.type === 'qemu' && x.status === 'stopped', 'stopped VM');
    expect((await power(vm, 'reboot')).reason).toBe(`VM ${vm.vmid} not running`);
    const paused = pick((x) => x.status === 'paused' && x.hastate === undefined, 'paused VM');
    expect((await power(paused, 'shutdown')).reason).toBe('VM is paused - cannot shutdown');
  });

  it('fails the task of a locked guest', async () => {
    const g = pick(
      (x) => x.lock !== undefined && x.hastate === undefined && !x.template && x.status === 'stopped',
      'locked guest',
    );
    const t = await waitTask(String(JSON.parse((await power(g, 'start')).text).data), g.node);
    expect(t.exitstatus).toBe(`${g.type === 'qemu' ? 'VM' : 'CT'} is locked (${g.lock})`);
  });

  it('only records the request for an HA-managed guest; the HA stack acts later', async () => {
    const g = pick(
      (x) => x.hastate === 'started' && x.lock === undefined && x.status === 'running',
      'HA guest',
    );
    const upid = String(JSON.parse((await power(g, 'shutdown')).text).data);
    expect(upid).toContain(':hastop:');
    const t = await waitTask(upid, g.node);
    expect(t.exitstatus).toBe('OK');
    for (let i = 0; i < 100 && sim.guest(CLUSTER, g.vmid)?.status !== 'stopped'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sim.guest(CLUSTER, g.vmid)).toEqual(
      expect.objectContaining({ status: 'stopped', hastate: 'stopped' }),
    );
  });

  it('answers unknown and malformed UPIDs with 400', async () => {
    const node = sim.clusters[0]?.nodes[0] ?? '';
    const unknown = `UPID:${node}:00000001:00000001:00000001:qmstart:100:root@pam:`;
    const r = await client.call(`/nodes/${node}/tasks/${encodeURIComponent(unknown)}/status`);
    expect(r.status).toBe(400);
    expect((await client.call(`/nodes/${node}/tasks/garbage/status`)).status).toBe(400);
  });
});

describe('offline node', () => {
  it('keeps guests listed as unknown without stats and answers 595 without a body', async () => {
    const cluster = sim.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const node = cluster.nodes[1] ?? '';
    sim.faults.setNodeOffline(CLUSTER, node, true);
    await sim.settled();
    try {
      const g = pick((x) => x.node === node, 'guest on node 2');
      const res = rows(await client.data('/cluster/resources'));
      const guestRow = res.find((r) => r.vmid === g.vmid && r.type === g.type);
      expect(guestRow?.status).toBe('unknown');
      expect(guestRow).not.toHaveProperty('name');
      expect(guestRow).not.toHaveProperty('maxmem');
      expect(res.find((r) => r.id === `node/${node}`)?.status).toBe('offline');
      const r = await client.call(`/nodes/${node}/${g.type}/${g.vmid}/status/current`);
      expect(r.status).toBe(595);
      expect(r.reason).toBe('No route to host');
      expect(r.text).toBe('');
      const direct = cluster.endpoints[1]?.url ?? '';
      await expect(client.call('/version', { base: direct })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      sim.faults.setNodeOffline(CLUSTER, node, false);
      await sim.settled();
    }
    expect((await client.call('/version', { base: cluster.endpoints[1]?.url ?? '' })).status).toBe(200);
  });
});

describe('compression', () => {
  it('gzips bodies over 1 KiB when the client accepts gzip', async () => {
    const r = await client.call('/cluster/resources', { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
    const plainBody = await client.call('/cluster/resources');
    expect(plainBody.headers['content-encoding']).toBeUndefined();
  });
});

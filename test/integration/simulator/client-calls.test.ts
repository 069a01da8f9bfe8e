import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GroundTruthGuest, type Simulator, startSimulator } from '#simulator/index.ts';
import { row, rows, SimClient } from './sim-client.ts';

/**
 * The calls common Proxmox clients and scripts make beyond what the inventory itself needs: task
 * lists, nextid, storage, users, directory indexes, agent ping, and PVE's exact refusal texts.
 */
let sim: Simulator;
let client: SimClient;
const CLUSTER = 'sim-1';
const UPID_RE = /^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[^:]+:[^:]*:[^:]+:$/;

function pick(p: (g: GroundTruthGuest) => boolean, what: string): GroundTruthGuest {
  const g = sim.groundTruth(CLUSTER).find(p);
  if (g === undefined) throw new Error(`fixture fleet has no ${what}`);
  return g;
}

const plainStopped = (g: GroundTruthGuest) =>
  g.type === 'qemu' &&
  g.status === 'stopped' &&
  g.hastate === undefined &&
  g.lock === undefined &&
  !g.template;

async function finished(upid: string, node: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = row(await client.data(`/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`));
    if (s.status === 'stopped') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`task ${upid} did not finish`);
}

beforeAll(async () => {
  sim = await startSimulator({
    clusters: 1,
    nodesPerCluster: 3,
    guestsPerCluster: 60,
    seed: 7,
    probeListeners: false,
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

describe('task lists', () => {
  it('lists a finished power task on its node and cluster-wide, with UPID, exit status and end time', async () => {
    const g = pick(plainStopped, 'plain stopped VM');
    const started = await client.call(`/nodes/${g.node}/qemu/${g.vmid}/status/start`, { method: 'POST' });
    const upid = String(JSON.parse(started.text).data);
    expect(upid).toMatch(UPID_RE);

    // PVE's default source is "archive": a running task is listed only with source=active|all.
    const active = JSON.parse((await client.call(`/nodes/${g.node}/tasks?source=active`)).text);
    expect(rows(active.data).map((t) => t.upid)).toContain(upid);
    expect(rows(active.data).find((t) => t.upid === upid)?.status).toBeUndefined();

    await finished(upid, g.node);
    const archive = JSON.parse((await client.call(`/nodes/${g.node}/tasks?vmid=${g.vmid}`)).text);
    expect(archive.total).toBe(1);
    expect(rows(archive.data)[0]).toMatchObject({
      upid,
      node: g.node,
      type: 'qmstart',
      id: String(g.vmid),
      user: 'root@pam',
      tokenid: 'sim',
      status: 'OK',
      endtime: expect.any(Number),
    });
    const cluster = rows(await client.data('/cluster/tasks'));
    expect(cluster.find((t) => t.upid === upid)).toMatchObject({ node: g.node, status: 'OK' });
    const otherNode = sim.clusters[0]?.nodes.find((n) => n !== g.node) ?? '';
    expect(rows(await client.data(`/nodes/${otherNode}/tasks?source=all`)).map((t) => t.upid)).not.toContain(
      upid,
    );
  });

  it('filters by errors, type and limit, newest first, and rejects a bad source', async () => {
    const g = pick((x) => plainStopped(x) && x.vmid % 2 === 1, 'second plain stopped VM');
    const stop = await client.call(`/nodes/${g.node}/qemu/${g.vmid}/status/start`, { method: 'POST' });
    await finished(String(JSON.parse(stop.text).data), g.node);
    const again = await client.call(`/nodes/${g.node}/qemu/${g.vmid}/status/start`, { method: 'POST' });
    const failedUpid = String(JSON.parse(again.text).data);
    await finished(failedUpid, g.node);

    const errors = rows(await client.data(`/nodes/${g.node}/tasks?errors=1`));
    expect(errors.map((t) => t.upid)).toEqual([failedUpid]);
    expect(errors[0]?.status).toBe(`VM ${g.vmid} already running`);
    const limited = JSON.parse((await client.call(`/nodes/${g.node}/tasks?typefilter=qmstart&limit=1`)).text);
    expect(rows(limited.data)).toHaveLength(1);
    expect(limited.total).toBeGreaterThanOrEqual(2);
    expect(rows(limited.data)[0]?.upid).toBe(failedUpid);

    const bad = await client.call(`/nodes/${g.node}/tasks?source=recent`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).errors.source).toContain("enumeration 'archive, active, all'");
  });

  it('writes no invented lines into a task log', async () => {
    const g = pick((x) => plainStopped(x) && x.vmid % 2 === 0, 'third plain stopped VM');
    const r = await client.call(`/nodes/${g.node}/qemu/${g.vmid}/status/start`, { method: 'POST' });
    const upid = String(JSON.parse(r.text).data);
    const log = `/nodes/${g.node}/tasks/${encodeURIComponent(upid)}/log`;
    const early = JSON.parse((await client.call(log)).text);
    expect(rows(early.data).map((l) => l.t)).toEqual(['no content']);
    await finished(upid, g.node);
    const done = JSON.parse((await client.call(log)).text);
    expect(rows(done.data)).toEqual([{ n: 1, t: 'TASK OK' }]);
    expect(done.total).toBe(1);
  });
});

describe('cluster and node calls', () => {
  it('answers /cluster/nextid with the lowest free VMID as a string and checks a wanted one', async () => {
    const used = new Set(sim.groundTruth(CLUSTER).map((g) => g.vmid));
    let expected = 100;
    while (used.has(expected)) expected++;
    expect(await client.data('/cluster/nextid')).toBe(String(expected));
    const taken = [...used][0] ?? 0;
    const r = await client.call(`/cluster/nextid?vmid=${taken}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).errors).toEqual({ vmid: `VM ${taken} already exists` });
    expect(await client.data(`/cluster/nextid?vmid=${expected}`)).toBe(String(expected));
  });

  it('lists storage definitions and a node storage with usage, filtered by content', async () => {
    const defs = rows(await client.data('/storage'));
    expect(defs.map((d) => d.storage)).toEqual(['local', 'local-lvm']);
    expect(defs.every((d) => typeof d.digest === 'string' && typeof d.type === 'string')).toBe(true);
    const node = sim.clusters[0]?.nodes[0] ?? '';
    const usage = rows(await client.data(`/nodes/${node}/storage`));
    for (const s of usage) {
      expect(s).toMatchObject({ active: 1, enabled: 1 });
      expect(Number(s.avail)).toBe(Number(s.total) - Number(s.used));
    }
    expect(rows(await client.data(`/nodes/${node}/storage?content=images`)).map((s) => s.storage)).toEqual([
      'local-lvm',
    ]);
  });

  it('lists users with their tokens on full=1, and only itself to a restricted token', async () => {
    sim.addToken(CLUSTER, { tokenId: 'ops@pve!ro', secret: 'ro-secret', vmids: [100] });
    const all = rows(await client.data('/access/users?full=1'));
    expect(all.map((u) => u.userid)).toEqual(['ops@pve', 'root@pam']);
    expect(all.find((u) => u.userid === 'root@pam')).toMatchObject({
      enable: 1,
      'realm-type': 'pam',
      tokens: [{ tokenid: 'sim', privsep: 0, expire: 0 }],
    });
    const own = await client.call('/access/users', {
      headers: { authorization: 'PVEAPIToken=ops@pve!ro=ro-secret' },
    });
    expect(rows(JSON.parse(own.text).data).map((u) => u.userid)).toEqual(['ops@pve']);
    expect(rows(JSON.parse(own.text).data)[0]?.tokens).toBeUndefined();
  });

  it('does not always list an address-less interface first on /nodes/{node}/network', async () => {
    const firsts = new Set<unknown>();
    for (const node of sim.clusters[0]?.nodes ?? []) {
      const ifaces = rows(await client.data(`/nodes/${node}/network`));
      expect(ifaces.map((i) => i.iface).sort()).toEqual(['eno1', 'vmbr0', 'vmbr1']);
      firsts.add(ifaces[0]?.iface);
    }
    expect(firsts.size).toBeGreaterThan(1);
  });
});

describe('guest calls', () => {
  it('answers the directory indexes of a VM, its status and its agent', async () => {
    const g = pick((x) => x.type === 'qemu', 'VM');
    const base = `/nodes/${g.node}/qemu/${g.vmid}`;
    const dir = rows(await client.data(base)).map((d) => d.subdir);
    expect(dir).toEqual(expect.arrayContaining(['config', 'status', 'agent', 'snapshot']));
    expect(rows(await client.data(`${base}/status`)).map((d) => d.subdir)).toEqual(
      expect.arrayContaining(['current', 'start', 'stop', 'shutdown', 'reboot']),
    );
    const commands = rows(await client.data(`${base}/agent`)).map((d) => d.name);
    expect(commands).toEqual(expect.arrayContaining(['ping', 'network-get-interfaces', 'get-osinfo']));
    expect(commands).toEqual([...commands].sort());
    const ct = pick((x) => x.type === 'lxc', 'container');
    expect(rows(await client.data(`/nodes/${ct.node}/lxc/${ct.vmid}`)).map((d) => d.subdir)).toContain(
      'interfaces',
    );
  });

  it('pings a running agent and names why an unavailable one cannot answer', async () => {
    const up = pick(
      (x) => x.type === 'qemu' && x.status === 'running' && x.agent === 'running',
      'VM with agent',
    );
    const pong = await client.call(`/nodes/${up.node}/qemu/${up.vmid}/agent/ping`, { method: 'POST' });
    expect(pong.status).toBe(200);
    expect(JSON.parse(pong.text)).toEqual({ data: { result: {} } });
    const none = pick((x) => x.type === 'qemu' && x.agent === 'none', 'VM without agent');
    const r = await client.call(`/nodes/${none.node}/qemu/${none.vmid}/agent/ping`, { method: 'POST' });
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text).message).toBe('No QEMU guest agent configured\n');
  });

  it('adds the full status of running VMs on full=1 and swap figures to the container list', async () => {
    const up = pick((x) => x.type === 'qemu' && x.status === 'running', 'running VM');
    const plain = rows(await client.data(`/nodes/${up.node}/qemu`)).find((r) => r.vmid === up.vmid);
    expect(plain?.qmpstatus).toBeUndefined();
    const full = rows(await client.data(`/nodes/${up.node}/qemu?full=1`)).find((r) => r.vmid === up.vmid);
    expect(full).toMatchObject({
      qmpstatus: 'running',
      'running-machine': expect.any(String),
      'running-qemu': expect.any(String),
      nics: { [`tap${up.vmid}i0`]: { netin: expect.any(Number), netout: expect.any(Number) } },
    });
    expect(Object.keys(row(full?.blockstat)).length).toBeGreaterThan(0);
    const ct = pick((x) => x.type === 'lxc', 'container');
    const listed = rows(await client.data(`/nodes/${ct.node}/lxc`)).find((r) => r.vmid === ct.vmid);
    expect(listed).toMatchObject({ swap: expect.any(Number), maxswap: 512 * 1048576 });
  });

  it('shapes vmgenid as a UUID distinct from the SMBIOS uuid', async () => {
    const g = pick((x) => x.type === 'qemu', 'VM');
    const c = row(await client.data(`/nodes/${g.node}/qemu/${g.vmid}/config`));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(c.vmgenid).toMatch(uuid);
    expect(String(c.smbios1)).not.toContain(String(c.vmgenid));
  });
});

describe('refusals as PVE words them', () => {
  it('names an invalid ticket, an unknown token, an unknown user and a malformed token', async () => {
    const ticket = await client.call('/version', {
      headers: { cookie: 'PVEAuthCookie=PVE:root@pam:0::bogus' },
    });
    expect([ticket.status, ticket.reason]).toEqual([401, 'permission denied - invalid PVE ticket']);
    const unknown = await client.call('/version', {
      headers: { authorization: 'PVEAPIToken=root@pam!nope=x' },
    });
    expect(unknown.reason).toBe(`no such token 'nope' for user 'root@pam'`);
    const user = await client.call('/version', { headers: { authorization: 'PVEAPIToken=ghost@pve!tok=x' } });
    expect(user.reason).toBe(`no such user ('ghost@pve')`);
    const noId = await client.call('/version', { headers: { authorization: 'PVEAPIToken=justasecret' } });
    expect(noId.reason).toBe('no tokenid specified');
    for (const r of [ticket, unknown, user, noId]) expect(r.text).toBe('');
  });

  it("ends error messages in the body with PVE's newline and keeps the status line to one line", async () => {
    const r = await client.call('/nodes/nowhere/qemu');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text).message).toMatch(/^hostname lookup 'nowhere' failed.*\n$/);
    expect(r.reason).not.toContain('\n');
    const unknownPath = await client.call('/nodes/nowhere/unknown-thing/x');
    expect(unknownPath.status).toBe(500);
    const notImplemented = await client.call('/cluster/ceph/status');
    expect(notImplemented.status).toBe(501);
    expect(JSON.parse(notImplemented.text).message).toBe(
      "Method 'GET /api2/json/cluster/ceph/status' not implemented",
    );
  });

  it('refuses HEAD and OPTIONS with 501 before authentication, as pve-http-server does', async () => {
    for (const method of ['HEAD', 'OPTIONS'] as const) {
      const r = await client.call('/version', { method, auth: false });
      expect([r.status, r.reason]).toEqual([501, `method '${method}' not available`]);
    }
  });
});

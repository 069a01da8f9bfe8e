import { describe, expect, it } from 'vitest';
import {
  type ApiRequest,
  classify,
  guestConfig,
  guestRow,
  handleApi,
  type Principal,
} from '#simulator/api.ts';
import { ClusterModel, parseUpid } from '#simulator/cluster-model.ts';
import { generateFleet, type SimGuest } from '#simulator/fleet.ts';

const NOW = 1_800_000_000_000;
const nodes = ['pve1', 'pve2', 'pve3'];
const root: Principal = { user: 'root@pam', tokenFull: 'root@pam!sim', viaTicket: false };

function model(churnPerMinute = 0): ClusterModel {
  const guests = generateFleet({ seed: 3, clusterIndex: 0, nodes, guests: 100, now: NOW });
  return new ClusterModel(
    0,
    nodes,
    guests,
    { seed: 3, taskDelayMs: 1000, drift: true, churnPerMinute, startedAt: NOW },
    { tokenId: 'root@pam!sim', secret: 's' },
  );
}

function find(m: ClusterModel, p: (g: SimGuest) => boolean): SimGuest {
  const g = [...m.guests.values()].find(p);
  if (g === undefined) throw new Error('fixture fleet lacks a guest');
  return g;
}

const plain = (g: SimGuest) => g.ha === undefined && g.lock === undefined && !g.template;

function get(m: ClusterModel, path: string, principal = root, method = 'GET'): ReturnType<typeof handleApi> {
  const req: ApiRequest = { method, path, params: {}, principal, now: NOW };
  return handleApi(m, req, 'pve1', 'AA:BB');
}

describe('classify', () => {
  it.each([
    ['GET', '/version', 'version', undefined],
    ['GET', '/cluster/resources', 'resources', undefined],
    ['GET', '/cluster/status', 'cluster_status', undefined],
    ['GET', '/nodes', 'nodes', undefined],
    ['GET', '/nodes/pve2/status', 'node_status', 'pve2'],
    ['GET', '/nodes/pve2/qemu/100/config', 'config', 'pve2'],
    ['GET', '/nodes/pve2/lxc/100/status/current', 'status', 'pve2'],
    ['GET', '/nodes/pve2/qemu/100/agent/network-get-interfaces', 'agent', 'pve2'],
    ['GET', '/nodes/pve2/lxc/100/interfaces', 'interfaces', 'pve2'],
    ['POST', '/nodes/pve2/qemu/100/status/start', 'power', 'pve2'],
    ['GET', '/nodes/pve2/tasks/UPID%3Ax/status', 'task', 'pve2'],
    ['GET', '/pools/lab', 'pools', undefined],
    ['GET', '/nodes/pve2/network', 'other', 'pve2'],
    ['GET', '/access/domains', 'other', undefined],
  ])('%s %s is %s', (method, path, cls, node) => {
    expect(classify(method, path)).toEqual(node === undefined ? { cls } : { cls, node });
  });
});

describe('power rules', () => {
  it('completes a stop task after the task delay and only then changes the state', () => {
    const m = model();
    const g = find(m, (x) => plain(x) && x.type === 'qemu' && x.status === 'running');
    const r = m.power(g, 'stop', 'root@pam!sim', NOW);
    if (!('upid' in r)) throw new Error('expected a UPID');
    expect(parseUpid(r.upid)).toEqual({
      node: g.node,
      type: 'qmstop',
      id: String(g.vmid),
      user: 'root@pam!sim',
    });
    m.settle(NOW + 999);
    expect(g.status).toBe('running');
    expect(m.tasks.get(r.upid)?.done).toBe(false);
    m.settle(NOW + 1000);
    expect(g.status).toBe('stopped');
    expect(m.tasks.get(r.upid)).toEqual(expect.objectContaining({ done: true, exitstatus: 'OK' }));
  });

  it('ends a QEMU stop of a stopped VM OK and fails an LXC stop at once', () => {
    const m = model();
    const vm = find(m, (x) => plain(x) && x.type === 'qemu' && x.status === 'stopped');
    const r = m.power(vm, 'stop', 'root@pam!sim', NOW);
    expect('upid' in r).toBe(true);
    const ct = find(m, (x) => plain(x) && x.type === 'lxc' && x.status === 'stopped');
    expect(m.power(ct, 'shutdown', 'root@pam!sim', NOW)).toEqual({
      status: 500,
      message: `CT ${ct.vmid} not running`,
    });
  });

  it('applies HA requests later than the task end', () => {
    const m = model();
    const g = find(m, (x) => x.ha !== undefined && x.lock === undefined && x.status === 'stopped');
    const r = m.power(g, 'start', 'root@pam!sim', NOW);
    if (!('upid' in r)) throw new Error('expected a UPID');
    expect(r.upid).toContain(':hastart:');
    m.settle(NOW + 1000);
    expect(m.tasks.get(r.upid)?.exitstatus).toBe('OK');
    expect(g.status).toBe('stopped');
    expect(g.hastate).toBe('request_start');
    m.settle(NOW + 2000);
    expect(g.status).toBe('running');
    expect(g.hastate).toBe('started');
  });
});

describe('rows and configs', () => {
  it('drops stats and the name of guests on an offline node', () => {
    const m = model();
    const g = find(m, (x) => x.node === 'pve2');
    const node = m.node('pve2');
    if (node === undefined) throw new Error('no node');
    node.online = false;
    const row = guestRow(m, g, NOW, root);
    expect(row.status).toBe('unknown');
    expect(Object.keys(row).sort()).toEqual(
      ['id', 'type', 'vmid', 'node', 'status', 'tags', 'lock', 'hastate', 'pool']
        .filter((k) => k in row)
        .sort(),
    );
    expect(row).not.toHaveProperty('name');
  });

  it('writes QEMU memory as a string and the agent as a property string', () => {
    const m = model();
    const g = find(m, (x) => x.type === 'qemu' && x.agentConfig !== undefined);
    const c = guestConfig(g);
    expect(c.memory).toMatch(/^(current=)?\d+$/);
    expect(c.agent).toBe(g.agentConfig);
    expect(c.net0).toMatch(/^[a-z0-9_-]+=BC:24:11:[0-9A-F:]{8},bridge=vmbr0/);
  });

  it('keeps stats stable within a 10 s pvestatd cycle and drifts across cycles', () => {
    const m = model();
    const g = find(m, (x) => x.status === 'running');
    const t0 = Math.floor(NOW / 10_000) * 10_000;
    expect(m.stats(g, t0 + 1).cpu).toBe(m.stats(g, t0 + 9_000).cpu);
    const cpus = new Set(Array.from({ length: 10 }, (_, i) => m.stats(g, t0 + i * 10_000).cpu));
    expect(cpus.size).toBeGreaterThan(1);
  });

  it('churns deterministically with simulated time', () => {
    const a = model(60);
    const b = model(60);
    a.settle(NOW + 60_000);
    b.settle(NOW + 30_000);
    b.settle(NOW + 60_000);
    const view = (m: ClusterModel) => [...m.guests.values()].map((g) => `${g.vmid}:${g.status}`).sort();
    expect(view(a)).toEqual(view(b));
    expect(view(a)).not.toEqual(view(model()));
  });

  it('hides guests outside a restricted token from /cluster/resources', () => {
    const m = model();
    const p: Principal = { ...root, token: { tokenId: 'u@pve!t', secret: 'x', vmids: [100] } };
    const r = get(m, '/cluster/resources', p);
    if (!r.ok || !Array.isArray(r.data)) throw new Error('expected rows');
    const guests = r.data.filter((x: { type?: string }) => x.type === 'qemu' || x.type === 'lxc');
    expect(guests).toHaveLength(1);
    expect(get(m, '/nodes/pve1/qemu/101/config', p)).toEqual({
      ok: false,
      status: 403,
      message: 'Permission check failed (/vms/101, VM.Audit)',
    });
  });
});

describe('tickets', () => {
  it('verifies its own tickets and CSRF tokens only', () => {
    const m = model();
    const { ticket, csrf } = m.makeTicket('root@pam', NOW);
    expect(m.verifyTicket(ticket, NOW + 1000)).toBe('root@pam');
    expect(m.verifyTicket(ticket, NOW + 3 * 3600_000)).toBeNull();
    expect(m.verifyTicket(`${ticket}x`, NOW)).toBeNull();
    expect(m.verifyCsrf('root@pam', csrf)).toBe(true);
    expect(m.verifyCsrf('other@pam', csrf)).toBe(false);
    expect(m.verifyCsrf('root@pam', undefined)).toBe(false);
  });
});

describe('offline node staleness', () => {
  it('keeps the last stats for offlineStaleMs, then shows unknown', () => {
    const guests = generateFleet({ seed: 3, clusterIndex: 0, nodes, guests: 30, now: NOW });
    const m = new ClusterModel(
      0,
      nodes,
      guests,
      { seed: 3, taskDelayMs: 1000, drift: true, churnPerMinute: 0, startedAt: NOW, offlineStaleMs: 300_000 },
      { tokenId: 'root@pam!sim', secret: 's' },
    );
    const g = find(m, (x) => x.node === 'pve2' && x.status === 'running');
    m.setNodeOnline('pve2', false, NOW);
    const stale = guestRow(m, g, NOW + 60_000, root);
    expect(stale).toEqual(expect.objectContaining({ status: 'running', name: g.name }));
    expect(stale.uptime).toBe(guestRow(m, g, NOW + 120_000, root).uptime);
    expect(guestRow(m, g, NOW + 300_000, root).status).toBe('unknown');
  });
});

describe('agent of a paused VM', () => {
  it('answers QEMU guest agent is not running', () => {
    const m = model();
    const g = find(m, (x) => x.type === 'qemu' && x.agent === 'running' && x.status === 'running');
    g.status = 'paused';
    expect(get(m, `/nodes/${g.node}/qemu/${g.vmid}/agent/network-get-interfaces`)).toEqual({
      ok: false,
      status: 500,
      message: 'QEMU guest agent is not running',
    });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '#local/cli/run.ts';
import { type LocalStack, startLocalStack } from '#local/stack/index.ts';
import { type ApiVm, ApiVmSchema } from '#shared/domain/vm-record.ts';
import type {
  DeltaMessage,
  LiveServerMessage,
  ResyncMessage,
  RuntimeMessage,
} from '#shared/live/protocol.ts';
import { connectLive, LiveConnectRefusedError, type LiveTestClient } from '../../helpers/live-client.ts';

/**
 * Live updates end to end on one machine: DynamoDB Local's streams → the local event source
 * mapping → the notify handler → the local WebSocket API, with the simulator, the real sync state
 * machines and the demo ownership (alice and bob share a VMID on different clusters).
 */

let stack: LocalStack;
let dataDir: string;
const probeBase = 20_000 + Math.floor(Math.random() * 20_000);
const open: LiveTestClient[] = [];

const keyOf = (vm: { cluster_id: string; vmid: number }) => `${vm.cluster_id}/${vm.vmid}`;
const isDelta = (message: LiveServerMessage): message is DeltaMessage => message.type === 'delta';
const isHello = (message: LiveServerMessage) => message.type === 'hello';
const isRuntime = (message: LiveServerMessage): message is RuntimeMessage => message.type === 'runtime';

function token(user: string): string {
  const value = stack.tokens[user];
  if (value === undefined) throw new Error(`no token for ${user}`);
  return value;
}

async function connect(tokenValue: string, via?: 'query' | 'protocol'): Promise<LiveTestClient> {
  const client = await connectLive(stack.liveUrl, tokenValue, via === undefined ? {} : { via });
  open.push(client);
  return client;
}

/** Connects and completes the fresh `hello`; returns the client and the versions it was given. */
async function helloAs(user: string): Promise<{ client: LiveTestClient; versions: Record<string, number> }> {
  const client = await connect(token(user));
  client.send({ action: 'hello' });
  const hello = await client.waitFor(isHello);
  if (hello.type !== 'hello') throw new Error('not a hello');
  return { client, versions: hello.versions };
}

function owned(user: string): Set<string> {
  const demo = stack.demo;
  if (demo === null) throw new Error('no demo ownership');
  return new Set(demo.vms.filter((vm) => vm.username === user).map(keyOf));
}

function flip(clusterId: string, vmid: number): string {
  const simulator = stack.simulator;
  if (simulator === undefined) throw new Error('no simulator');
  const status = simulator.guest(clusterId, vmid)?.status === 'running' ? 'stopped' : 'running';
  simulator.setGuestStatus(clusterId, vmid, status);
  return status;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pve-live-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `live-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 30,
      seed: 5,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
    },
    schedules: false,
    logLevel: 'SILENT',
    publishState: false,
    live: { sweepIntervalMs: 200, batchWindowMs: 1000, pollIntervalMs: 100 },
  });
  await stack.sync('full');
});

afterAll(async () => {
  for (const client of open) await client.close().catch(() => undefined);
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('live updates', () => {
  it("pushes a student's VM status change after the next quick pass, and nothing about VMs they do not own", async () => {
    const demo = stack.demo;
    if (demo === null || demo.sharedVmid === null) throw new Error('no demo ownership');
    const alice = await helloAs('alice');
    const bob = await helloAs('bob');
    const aliceVm = demo.vms.find((vm) => vm.username === 'alice' && vm.cluster_id === 'sim-1');
    if (aliceVm === undefined) throw new Error('alice has no VM on sim-1');
    const aliceStatus = flip(aliceVm.cluster_id, aliceVm.vmid);
    // Bob's VM on sim-2 has the VMID alice owns on sim-1: alice must hear nothing about it.
    const bobStatus = flip('sim-2', demo.sharedVmid);
    await stack.sync('quick');

    const aliceDelta = await alice.client.waitFor(
      (m): m is DeltaMessage =>
        isDelta(m) && m.vms.some((vm) => keyOf(vm) === keyOf(aliceVm) && vm.status === aliceStatus),
    );
    expect(aliceDelta.version).toBeGreaterThan(alice.versions[aliceVm.cluster_id] ?? 0);
    await bob.client.waitFor(
      (m) =>
        isDelta(m) && m.vms.some((vm) => keyOf(vm) === `sim-2/${demo.sharedVmid}` && vm.status === bobStatus),
    );
    const aliceOwns = owned('alice');
    for (const message of alice.client.messages.filter(isDelta)) {
      for (const vm of [...message.vms, ...message.removed]) expect([...aliceOwns]).toContain(keyOf(vm));
    }
    const bobOwns = owned('bob');
    for (const message of bob.client.messages.filter(isDelta)) {
      for (const vm of [...message.vms, ...message.removed]) expect([...bobOwns]).toContain(keyOf(vm));
    }
    expect(
      alice.client.messages
        .filter(isDelta)
        .flatMap((m) => m.vms)
        .map(keyOf),
    ).not.toContain(`sim-2/${demo.sharedVmid}`);
  }, 180_000);

  it('pushes CPU/memory-only moves as compact runtime frames that equal a fresh list, only to who sees the VMs', async () => {
    const demo = stack.demo;
    const simulator = stack.simulator;
    if (demo === null || simulator === undefined) throw new Error('no demo ownership or simulator');
    const aliceVm = demo.vms.find((vm) => vm.username === 'alice' && vm.cluster_id === 'sim-1');
    if (aliceVm === undefined) throw new Error('alice has no VM on sim-1');
    const admin = await helloAs('admin');
    const alice = await helloAs('alice');
    simulator.setGuestStatus(aliceVm.cluster_id, aliceVm.vmid, 'running');
    await stack.sync('quick');
    // The simulator's figures drift in 10 s buckets: pass again once the bucket moved (up to 3
    // passes), until alice's running VM moved.
    let frame: RuntimeMessage | undefined;
    for (let pass = 0; pass < 3 && frame === undefined; pass++) {
      const bucket = Math.floor(Date.now() / 10_000);
      while (Math.floor(Date.now() / 10_000) === bucket) await new Promise((r) => setTimeout(r, 200));
      await stack.sync('quick');
      frame = await alice.client
        .waitFor(
          (m): m is RuntimeMessage =>
            isRuntime(m) && m.cluster === 'sim-1' && m.vms.some(([vmid]) => vmid === aliceVm.vmid),
          10_000,
        )
        .catch(() => undefined);
    }
    if (frame === undefined) throw new Error("no runtime frame for alice's running VM after 3 quick passes");
    const adminFrame = await admin.client.waitFor(
      (m): m is RuntimeMessage => isRuntime(m) && m.cluster === 'sim-1' && m.version === frame.version,
    );
    expect(adminFrame.vms.length).toBeGreaterThan(frame.vms.length);
    // Let the last pass's batches arrive, then fold what the admin was pushed (figures from runtime
    // frames and deltas, in order) and compare with what a fresh list answers (no pass ran since).
    let count = -1;
    while (count !== admin.client.messages.length) {
      count = admin.client.messages.length;
      await new Promise((r) => setTimeout(r, 2_500));
    }
    const figures = new Map<string, { cpu: number | undefined; memory: number | undefined }>();
    const moved = new Set<string>();
    for (const message of admin.client.messages) {
      if (isRuntime(message) && message.cluster === 'sim-1') {
        for (const [vmid, cpu, memory] of message.vms) {
          figures.set(`sim-1/${vmid}`, { cpu, memory });
          moved.add(`sim-1/${vmid}`);
        }
      } else if (isDelta(message)) {
        for (const vm of message.vms) {
          const known = figures.get(keyOf(vm));
          figures.set(keyOf(vm), {
            cpu: vm.cpu_usage ?? known?.cpu,
            memory: vm.memory_usage ?? known?.memory,
          });
        }
      }
    }
    const response = await fetch(`${stack.apiUrl}/api/vms?limit=500`, {
      headers: { authorization: `Bearer ${token('admin')}` },
    });
    expect(response.status).toBe(200);
    const listed = new Map(
      ((await response.json()) as { vms: ApiVm[] }).vms.map((vm) => [keyOf(vm), vm] as const),
    );
    for (const key of moved) {
      const vm = listed.get(key);
      expect({ key, ...figures.get(key) }).toEqual({ key, cpu: vm?.cpu_usage, memory: vm?.memory_usage });
    }
    // Only running VMs' figures move.
    for (const [vmid] of adminFrame.vms) expect(listed.get(`sim-1/${vmid}`)?.status).toBe('running');
    expect(frame.vms).toEqual(adminFrame.vms.filter(([vmid]) => owned('alice').has(`sim-1/${vmid}`)));
    // Nothing in any of alice's frames is outside her view (the VMID collision across clusters too).
    const aliceOwns = owned('alice');
    for (const message of alice.client.messages.filter(isRuntime)) {
      for (const [vmid] of message.vms) expect([...aliceOwns]).toContain(`${message.cluster}/${vmid}`);
    }
  }, 180_000);

  it('makes a VM appear when it is assigned while connected, and disappear when the assignment is suspended', async () => {
    const { client } = await helloAs('bob');
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    // A VM no demo user owns (suspending it must not touch anyone else's view).
    const anyoneOwns = new Set((stack.demo?.vms ?? []).map(keyOf));
    const extra = simulator
      .groundTruth('sim-1')
      .find((guest) => !guest.template && !anyoneOwns.has(`sim-1/${guest.vmid}`));
    if (extra === undefined) throw new Error('no unowned guest');
    const key = { cluster_id: 'sim-1', vmid: extra.vmid };
    await stack.repositories.ownership.putAssignment({
      username: 'bob',
      ...key,
      source: 'admin',
      created_at: Date.now(),
    });
    const added = await client.waitFor(
      (m): m is DeltaMessage => isDelta(m) && m.vms.some((vm) => keyOf(vm) === keyOf(key)),
    );
    // A VM new to the client comes whole, in the list's shape.
    expect(ApiVmSchema.safeParse(added.vms.find((vm) => keyOf(vm) === keyOf(key))).success).toBe(true);

    await stack.repositories.ownership.suspendVm(key, Date.now());
    await client.waitFor((m) => isDelta(m) && m.removed.some((removed) => keyOf(removed) === keyOf(key)));
  });

  it('refuses an expired or forged token at connect, over the query string and the subprotocol', async () => {
    const expired = await stack.issuer.issueToken('alice', { expiresIn: -60 });
    for (const via of ['query', 'protocol'] as const) {
      const refused = await connect(expired, via).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(LiveConnectRefusedError);
      expect((refused as LiveConnectRefusedError).status).toBe(401);
    }
    const badSignature = `${token('alice').split('.').slice(0, 2).join('.')}.c2lnbmF0dXJl`;
    const forged = await connect(badSignature).catch((error: unknown) => error);
    expect((forged as LiveConnectRefusedError).status).toBe(401);
    // The subprotocol form is accepted with a valid token (and answered with `bearer`).
    const viaProtocol = await connect(token('alice'), 'protocol');
    viaProtocol.send({ action: 'ping' });
    await viaProtocol.waitFor((m) => m.type === 'pong');
  });

  it('closes an open connection when its token expires, unless the client re-authenticates', async () => {
    const short = await connect(await stack.issuer.issueToken('alice', { expiresIn: 2 }));
    const renewed = await connect(await stack.issuer.issueToken('alice', { expiresIn: 2 }));
    renewed.send({ action: 'reauth', token: await stack.issuer.issueToken('alice', { expiresIn: 600 }) });
    await renewed.waitFor((m) => m.type === 'reauth');
    await short.closed;
    expect(short.messages.some((m) => m.type === 'error' && m.code === 'unauthorized')).toBe(true);
    // Past the first token's expiry, the renewed connection still answers.
    renewed.send({ action: 'ping' });
    await renewed.waitFor((m) => m.type === 'pong');
    expect(renewed.isOpen()).toBe(true);
  });

  it('refuses a re-authentication for another user', async () => {
    const client = await connect(token('alice'));
    client.send({ action: 'reauth', token: token('bob') });
    await client.waitFor((m) => m.type === 'error' && m.code === 'unauthorized');
  });

  it('replays the missed deltas to a client that reconnects with its old version', async () => {
    const demo = stack.demo;
    if (demo === null) throw new Error('no demo ownership');
    const first = await helloAs('alice');
    await first.client.close();
    const aliceVm = demo.vms.find((vm) => vm.username === 'alice' && vm.cluster_id === 'sim-1');
    if (aliceVm === undefined) throw new Error('alice has no VM on sim-1');
    const watcher = await helloAs('admin');
    const status = flip(aliceVm.cluster_id, aliceVm.vmid);
    await stack.sync('quick');
    const seen = await watcher.client.waitFor(
      (m): m is DeltaMessage =>
        isDelta(m) && m.vms.some((vm) => keyOf(vm) === keyOf(aliceVm) && vm.status === status),
    );
    expect(seen.version).toBeGreaterThan(first.versions[aliceVm.cluster_id] ?? 0);

    const again = await connect(token('alice'));
    // The deltas alice missed concern her VM only: no ownership change of hers, so they replay.
    again.send({ action: 'hello', versions: first.versions });
    const replay = await again.waitFor(
      (m): m is DeltaMessage | ResyncMessage => (isDelta(m) || m.type === 'resync') && m.cluster === 'sim-1',
    );
    expect(replay).toMatchObject({ type: 'delta' });
    expect((replay as DeltaMessage).vms.find((vm) => keyOf(vm) === keyOf(aliceVm))?.status).toBe(status);
    const hello = await again.waitFor(isHello);
    expect(hello.type === 'hello' && (hello.versions['sim-1'] ?? 0) >= replay.version).toBe(true);

    // A version the server never gave out: reload, never a silent gap.
    const future = await connect(token('alice'));
    future.send({ action: 'hello', versions: { 'sim-1': 1_000_000 } });
    const resync = await future.waitFor((m) => m.type === 'resync' && m.cluster === 'sim-1');
    expect(resync.type === 'resync' && resync.reason).toBe('unknown_version');
  }, 180_000);

  it('answers a malformed message with a 4xx-style error naming what was wrong', async () => {
    const client = await connect(token('alice'));
    client.send({ action: 'hello', versions: { 'sim-1': -1 } });
    const error = await client.waitFor((m) => m.type === 'error');
    expect(error.type === 'error' && error.code).toBe('bad_request');
    expect(error.type === 'error' && error.message).toContain('versions');
  });

  it('pve-inventory watch prints the changes pushed to its user as they arrive', async () => {
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    const anyoneOwns = new Set((stack.demo?.vms ?? []).map(keyOf));
    const extra = simulator
      .groundTruth('sim-2')
      .find((guest) => !guest.template && !anyoneOwns.has(`sim-2/${guest.vmid}`));
    if (extra === undefined) throw new Error('no unowned guest');
    const out: string[] = [];
    const err: string[] = [];
    const watching = runCli(
      ['watch', '--api', stack.apiUrl, '--token', token('alice'), '--live', stack.liveUrl, '--for', '15s'],
      { stdout: (text) => out.push(text), stderr: (text) => err.push(text), env: {}, isTTY: false },
    );
    const deadline = Date.now() + 10_000;
    while (!out.join('').includes('connected') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await stack.repositories.ownership.putAssignment({
      username: 'alice',
      cluster_id: 'sim-2',
      vmid: extra.vmid,
      source: 'admin',
      created_at: Date.now(),
    });
    expect(await watching).toBe(0);
    expect(err.join('')).toBe('');
    expect(out.join('')).toMatch(new RegExp(`sim-2/${extra.vmid} v\\d+ .*name=`));
  }, 60_000);
});

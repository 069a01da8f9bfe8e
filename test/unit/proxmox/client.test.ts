import { MockAgent, errors as undiciErrors } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
import { CertificatePinMismatchError } from '#shared/proxmox/tls.ts';
import {
  agentInterfacesData,
  clone,
  clusterStatusData,
  lxcConfigData,
  lxcInterfacesNew,
  nodesData,
  qemuConfigData,
  qemuStatusData,
  resourcesData,
  taskRunning,
  taskStopped,
  upid,
  versionData,
} from './fixtures.ts';
import {
  everythingIn,
  FakeDispatcher,
  type FakeReply,
  ORIGIN_1,
  ORIGIN_2,
  ok,
  recordingLogger,
  refused,
  SECRET,
  TOKEN_ID,
  testCluster,
} from './helpers.ts';

const API = '/api2/json';
const noSleep = async (): Promise<void> => {};

function baseDeps(extra: Partial<ProxmoxClientDeps> = {}): ProxmoxClientDeps {
  return { tokenSecret: SECRET, sleep: noSleep, random: () => 0.5, ...extra };
}

async function caught(promise: Promise<unknown>): Promise<ProxmoxError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProxmoxError) return error;
    throw error;
  }
  throw new Error('expected a ProxmoxError');
}

describe('ProxmoxClient against undici MockAgent', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => {
    await agent.close();
  });

  const json = (data: unknown) => JSON.stringify({ data });
  const pool = () => agent.get(ORIGIN_1);

  it('sends the PVEAPIToken header and parses every call', async () => {
    const auth = `PVEAPIToken=${TOKEN_ID}=${SECRET}`;
    const replies: [string, string, unknown][] = [
      ['GET', '/version', versionData],
      ['GET', '/cluster/resources', resourcesData],
      ['GET', '/cluster/status', clusterStatusData],
      ['GET', '/nodes', nodesData],
      ['GET', '/nodes/pve1/qemu/101/config', qemuConfigData],
      ['GET', '/nodes/pve2/lxc/200/config', lxcConfigData],
      ['GET', '/nodes/pve1/qemu/101/status/current', qemuStatusData],
      ['GET', '/nodes/pve1/qemu/101/agent/network-get-interfaces', agentInterfacesData],
      ['GET', '/nodes/pve2/lxc/200/interfaces', lxcInterfacesNew],
      ['GET', '/nodes/pve2/lxc/201/interfaces', null],
      ['POST', '/nodes/pve1/qemu/101/status/start', upid],
      ['GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`, taskStopped],
    ];
    for (const [method, path, data] of replies) {
      pool()
        .intercept({ method, path: `${API}${path}`, headers: { authorization: auth } })
        .reply(200, json(clone(data)), { headers: { 'content-type': 'application/json;charset=UTF-8' } });
    }
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    expect((await client.version()).version).toBe('8.4.1');
    const resources = await client.clusterResources();
    expect(resources.guests).toHaveLength(4);
    expect(resources.nodes).toHaveLength(2);
    expect(await client.clusterStatus()).toHaveLength(3);
    expect(await client.nodes()).toHaveLength(2);
    expect((await client.guestConfig('pve1', 'qemu', 101)).memory).toBe('4096');
    expect((await client.guestConfig('pve2', 'lxc', 200)).memory).toBe(1024);
    expect((await client.guestStatus('pve1', 'qemu', 101)).qmpstatus).toBe('running');
    expect(await client.agentInterfaces('pve1', 101)).toHaveLength(3);
    expect(await client.lxcInterfaces('pve2', 200)).toHaveLength(2);
    expect(await client.lxcInterfaces('pve2', 201)).toBeNull();
    expect(await client.powerAction('pve1', 'qemu', 101, 'start')).toBe(upid);
    expect(await client.taskStatus(upid)).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    expect(client.callCounts()).toEqual({
      version: 1,
      resources: 1,
      cluster_status: 1,
      nodes: 1,
      node_status: 0,
      config: 2,
      status: 1,
      agent: 1,
      interfaces: 2,
      power: 1,
      task: 1,
      pools: 0,
      other: 0,
      total: 12,
    });
    client.resetCallCounts();
    expect(client.callCounts().total).toBe(0);
    agent.assertNoPendingInterceptors();
  });

  it('maps 401 to ProxmoxAuthError', async () => {
    pool()
      .intercept({ path: `${API}/version` })
      .reply(401, '');
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.version());
    expect(error).toBeInstanceOf(ProxmoxAuthError);
    expect(error).toMatchObject({ clusterId: 'lab', endpointClass: 'version', status: 401 });
  });

  it('maps 403 to ProxmoxPermissionError naming the privilege from the message', async () => {
    pool()
      .intercept({ method: 'POST', path: `${API}/nodes/pve1/qemu/100/status/stop` })
      .reply(
        403,
        JSON.stringify({ data: null, message: 'Permission check failed (/vms/100, VM.PowerMgmt)\n' }),
      );
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.powerAction('pve1', 'qemu', 100, 'stop'));
    expect(error).toBeInstanceOf(ProxmoxPermissionError);
    expect(error).toMatchObject({
      privilege: 'VM.PowerMgmt',
      aclPath: '/vms/100',
      status: 403,
      endpointClass: 'power',
    });
  });

  it('explains the PVE 8 / PVE 9 agent privilege on a 403 from the agent', async () => {
    pool()
      .intercept({ path: `${API}/nodes/pve1/qemu/100/agent/network-get-interfaces` })
      .reply(403, JSON.stringify({ data: null, message: 'Permission check failed (/vms/100, VM.Monitor)' }));
    pool()
      .intercept({ path: `${API}/nodes/pve1/qemu/102/agent/network-get-interfaces` })
      .reply(
        403,
        JSON.stringify({
          data: null,
          message: 'Permission check failed (/vms/102, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)',
        }),
      );
    pool()
      .intercept({ path: `${API}/nodes/pve1/qemu/101/agent/network-get-interfaces` })
      .reply(403, JSON.stringify({ data: null }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const pve8 = await caught(client.agentInterfaces('pve1', 100));
    expect(pve8).toMatchObject({ privilege: 'VM.Monitor' });
    expect(pve8.message).toContain('pveum role modify <role> --privs VM.Monitor --append 1');
    expect(pve8.message).toContain('mid-upgrade to 9: add VM.GuestAgent.Audit too');
    const pve9 = await caught(client.agentInterfaces('pve1', 102));
    expect(pve9).toMatchObject({ privilege: 'VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted' });
    expect(pve9.message).toContain('PVE 9 replaced VM.Monitor with VM.GuestAgent.Audit');
    expect(pve9.message).toContain('pveum role modify <role> --privs VM.GuestAgent.Audit --append 1');
    const unknown = await caught(client.agentInterfaces('pve1', 101));
    expect(unknown).toBeInstanceOf(ProxmoxPermissionError);
    expect(unknown).toMatchObject({ privilege: 'VM.Monitor (PVE 8) or VM.GuestAgent.Audit (PVE 9)' });
  });

  it('maps a wrong node / missing VM to ProxmoxNotFoundError', async () => {
    pool()
      .intercept({ path: `${API}/nodes/pve2/qemu/100/config` })
      .reply(
        500,
        JSON.stringify({
          data: null,
          message: "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist\n",
        }),
      );
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.guestConfig('pve2', 'qemu', 100));
    expect(error).toBeInstanceOf(ProxmoxNotFoundError);
    expect(error).toMatchObject({ status: 500, node: 'pve2', endpointClass: 'config' });
  });

  it('maps 595 to ProxmoxNodeUnreachableError after retrying the GET', async () => {
    pool()
      .intercept({ path: `${API}/nodes/pve3/qemu/103/status/current` })
      .reply(595, '')
      .times(3);
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.guestStatus('pve3', 'qemu', 103));
    expect(error).toBeInstanceOf(ProxmoxNodeUnreachableError);
    expect(error).toMatchObject({ status: 595, node: 'pve3' });
    expect(client.callCounts().status).toBe(3);
  });

  it('retries a GET on 502/503 and succeeds', async () => {
    pool()
      .intercept({ path: `${API}/cluster/resources` })
      .reply(503, '');
    pool()
      .intercept({ path: `${API}/cluster/resources` })
      .reply(502, '');
    pool()
      .intercept({ path: `${API}/cluster/resources` })
      .reply(200, json(resourcesData));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    expect((await client.clusterResources()).guests).toHaveLength(4);
    expect(client.callCounts().resources).toBe(3);
  });

  it('does not retry a 500', async () => {
    pool()
      .intercept({ path: `${API}/nodes/pve1/qemu/100/agent/network-get-interfaces` })
      .reply(500, JSON.stringify({ data: null, message: 'QEMU guest agent is not running' }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.agentInterfaces('pve1', 100));
    expect(error).toBeInstanceOf(ProxmoxApiError);
    expect(error).toMatchObject({ status: 500, serverMessage: 'QEMU guest agent is not running' });
    expect(client.callCounts().agent).toBe(1);
  });

  it('never retries a power action, even on 503 or 595', async () => {
    pool()
      .intercept({ method: 'POST', path: `${API}/nodes/pve1/qemu/100/status/shutdown` })
      .reply(503, '');
    pool()
      .intercept({ method: 'POST', path: `${API}/nodes/pve3/lxc/300/status/reboot` })
      .reply(595, '');
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    expect(await caught(client.powerAction('pve1', 'qemu', 100, 'shutdown'))).toBeInstanceOf(ProxmoxApiError);
    expect(await caught(client.powerAction('pve3', 'lxc', 300, 'reboot'))).toBeInstanceOf(
      ProxmoxNodeUnreachableError,
    );
    expect(client.callCounts().power).toBe(2);
  });

  it.each([
    ['a body that is not JSON', '<html>oops</html>'],
    ['a body without data', JSON.stringify({ result: [] })],
    [
      'a malformed row',
      JSON.stringify({ data: [{ id: 'qemu/1', type: 'qemu', vmid: 'x', node: 'n', status: 's' }] }),
    ],
  ])('maps %s to ProxmoxInvalidResponseError', async (_label, body) => {
    pool()
      .intercept({ path: `${API}/cluster/resources` })
      .reply(200, body);
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.clusterResources());
    expect(error).toBeInstanceOf(ProxmoxInvalidResponseError);
    expect(error.endpointClass).toBe('resources');
  });

  it('names the bad field of an invalid response', async () => {
    pool()
      .intercept({ path: `${API}/nodes/pve1/qemu/1/status/current` })
      .reply(200, json({ vmid: 1, status: 5 }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.guestStatus('pve1', 'qemu', 1));
    expect(error.message).toContain('data.status');
  });

  it('maps undici header and body timeouts to ProxmoxTimeoutError', async () => {
    pool()
      .intercept({ path: `${API}/version` })
      .replyWithError(new undiciErrors.HeadersTimeoutError());
    pool()
      .intercept({ path: `${API}/nodes` })
      .replyWithError(new undiciErrors.BodyTimeoutError());
    const client = createProxmoxClient(
      testCluster(),
      baseDeps({ dispatcher: agent, timeouts: { version: { headersMs: 1234 } } }),
    );
    expect(await caught(client.version())).toMatchObject({ phase: 'headers', timeoutMs: 1234 });
    const body = await caught(client.nodes());
    expect(body).toBeInstanceOf(ProxmoxTimeoutError);
    expect(body).toMatchObject({ phase: 'body' });
  });

  it('fails over to the next endpoint on connection refused, and skips the failed one while it cools down', async () => {
    let now = 1_000_000;
    agent
      .get(ORIGIN_1)
      .intercept({ path: `${API}/version` })
      .replyWithError(refused());
    agent
      .get(ORIGIN_2)
      .intercept({ path: `${API}/version` })
      .reply(200, json(versionData))
      .times(2);
    agent
      .get(ORIGIN_1)
      .intercept({ path: `${API}/version` })
      .reply(200, json(versionData));
    const logger = recordingLogger();
    const client = createProxmoxClient(
      testCluster(),
      baseDeps({ dispatcher: agent, now: () => now, endpointCooldownMs: 30_000, logger }),
    );
    await client.version();
    await client.version(); // ORIGIN_1 is cooling down: straight to ORIGIN_2
    now += 30_001;
    await client.version(); // cool-down over: ORIGIN_1 again
    agent.assertNoPendingInterceptors();
    expect(logger.lines.some((l) => l.includes('Proxmox endpoint failed') && l.includes(ORIGIN_1))).toBe(
      true,
    );
    expect(client.callCounts().version).toBe(3);
  });

  it('fails with ProxmoxConnectionError when no endpoint accepts a connection', async () => {
    agent
      .get(ORIGIN_1)
      .intercept({ path: `${API}/version` })
      .replyWithError(refused())
      .times(3);
    agent
      .get(ORIGIN_2)
      .intercept({ path: `${API}/version` })
      .replyWithError(refused())
      .times(3);
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: agent }));
    const error = await caught(client.version());
    expect(error).toBeInstanceOf(ProxmoxConnectionError);
    expect(error.message).toContain('ECONNREFUSED');
    agent.assertNoPendingInterceptors();
  });
});

describe('ProxmoxClient with a scripted dispatcher', () => {
  it('takes the error text from the reason phrase when the body has no message (pre-5.2 servers)', async () => {
    const fake = new FakeDispatcher(() => ({
      status: 500,
      statusText: 'VM 100 not running',
      body: '{"data":null}',
    }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    const error = await caught(client.powerAction('pve1', 'qemu', 100, 'reboot'));
    expect(error).toMatchObject({ status: 500, serverMessage: 'VM 100 not running' });
    expect(error.message).toContain('VM 100 not running');
  });

  it('prefers the JSON message and adds parameter errors of a 400', async () => {
    const fake = new FakeDispatcher(() => ({
      status: 400,
      statusText: 'Parameter verification failed.',
      body: JSON.stringify({
        data: null,
        message: 'Parameter verification failed.',
        errors: { vmid: 'invalid format' },
      }),
    }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    const error = await caught(client.guestConfig('pve1', 'qemu', 100));
    expect(error.message).toContain('Parameter verification failed. - vmid: invalid format');
  });

  it('maps a 400 "no such task" to ProxmoxNotFoundError and queries the node inside the UPID', async () => {
    const fake = new FakeDispatcher(() => ({ status: 400, statusText: 'upid: no such task' }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    expect(await caught(client.taskStatus(upid))).toBeInstanceOf(ProxmoxNotFoundError);
    expect(fake.requests[0]?.path).toBe(`${API}/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
  });

  it('keeps at most maxInFlightPerNode node-proxied calls in flight per node', async () => {
    const fake = new FakeDispatcher(
      (req) => ok(req.path.endsWith('/config') ? qemuConfigData : resourcesData),
      true,
    );
    const client = createProxmoxClient(
      testCluster({ maxInFlightPerNode: 3 }),
      baseDeps({ dispatcher: fake }),
    );
    const calls = [
      ...Array.from({ length: 8 }, (_, i) => client.guestConfig('pve1', 'qemu', 100 + i)),
      ...Array.from({ length: 2 }, (_, i) => client.guestConfig('pve2', 'qemu', 200 + i)),
    ];
    // Not node-proxied: not limited by the per-node slots.
    const resources = client.clusterResources();
    await new Promise((r) => setTimeout(r, 10));
    const inFlightPve1 = () => fake.requests.filter((r) => r.path.includes('/nodes/pve1/')).length;
    expect(inFlightPve1()).toBe(3);
    expect(fake.waiting).toBe(3 + 2 + 1);
    while (fake.releaseOne()) await new Promise((r) => setTimeout(r, 1));
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      if (!fake.releaseOne()) break;
    }
    await Promise.all([...calls, resources]);
    expect(fake.requests).toHaveLength(11);
  });

  it('fails over a power action only when the connection was refused (nothing was sent)', async () => {
    const fake = new FakeDispatcher((req) => (req.origin === ORIGIN_1 ? { error: refused() } : ok(upid)));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    expect(await client.powerAction('pve1', 'qemu', 101, 'start')).toBe(upid);
    expect(fake.requests.map((r) => r.origin)).toEqual([ORIGIN_1, ORIGIN_2]);
  });

  it('does not re-send a power action after a reset connection', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const fake = new FakeDispatcher(() => ({ error: reset }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    expect(await caught(client.powerAction('pve1', 'qemu', 101, 'stop'))).toBeInstanceOf(
      ProxmoxConnectionError,
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a pinned-certificate mismatch as ProxmoxTlsError', async () => {
    const fake = new FakeDispatcher(() => ({
      error: new CertificatePinMismatchError(ORIGIN_1, 'AA:BB', 'CC:DD'),
    }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake, retry: { retries: 0 } }));
    const error = await caught(client.version());
    expect(error).toBeInstanceOf(ProxmoxTlsError);
    expect(error.message).toContain('pinned');
    // What most likely happened, and the durable alternative.
    expect(error.message).toContain('most likely renewed');
    expect(error.message).toContain("tls.caFile to the cluster's pve-root-ca.pem");
  });

  it('waits for a task until it stops and reports its exit status', async () => {
    let polls = 0;
    const fake = new FakeDispatcher(() => {
      polls += 1;
      return ok(polls < 3 ? taskRunning : { ...taskStopped, exitstatus: 'VM 101 already running' });
    });
    let now = 0;
    const client = createProxmoxClient(
      testCluster(),
      baseDeps({
        dispatcher: fake,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
    );
    expect(await client.waitForTask(upid, { timeoutMs: 10_000, intervalMs: 500 })).toEqual({
      finished: true,
      upid,
      exitStatus: 'VM 101 already running',
      ok: false,
    });
    expect(polls).toBe(3);
  });

  it('bounds the wait for a task that keeps running', async () => {
    const fake = new FakeDispatcher(() => ok(taskRunning));
    let now = 0;
    const client = createProxmoxClient(
      testCluster(),
      baseDeps({
        dispatcher: fake,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
    );
    expect(await client.waitForTask(upid, { timeoutMs: 3_000, intervalMs: 1_000 })).toEqual({
      finished: false,
      upid,
    });
    expect(fake.requests.length).toBe(4);
  });

  it.each(['OK', 'WARNINGS: 2'])('treats exit status %s as success', async (exitstatus) => {
    const fake = new FakeDispatcher(() => ok({ ...taskStopped, exitstatus }));
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake }));
    expect(await client.waitForTask(upid)).toMatchObject({ finished: true, ok: true });
  });

  it('logs a warning at creation when TLS verification is disabled', () => {
    const logger = recordingLogger();
    createProxmoxClient(
      testCluster({ tls: { insecure: true } }),
      baseDeps({ dispatcher: new FakeDispatcher(() => ok(null)), logger }),
    );
    expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('DISABLED'))).toBe(true);
  });

  it('refuses a secret that cannot be sent in a header', () => {
    expect(() => createProxmoxClient(testCluster(), { tokenSecret: 'a b\n' })).toThrow(/tokenSecret/);
  });
});

describe('the token secret never leaks', () => {
  /** Server texts that echo the secret, as a hostile or buggy server might. */
  const echo = `bad token ${TOKEN_ID}=${SECRET}`;
  const failures: [string, FakeReply, (c: ReturnType<typeof createProxmoxClient>) => Promise<unknown>][] = [
    ['401', { status: 401, statusText: `Authentication failed! ${echo}` }, (c) => c.version()],
    [
      '403',
      {
        status: 403,
        statusText: 'Forbidden',
        body: JSON.stringify({ data: null, message: `Permission check failed (/vms/1, VM.Audit) ${SECRET}` }),
      },
      (c) => c.guestConfig('pve1', 'qemu', 1),
    ],
    ['404', { status: 404, statusText: `not found ${SECRET}` }, (c) => c.guestStatus('pve1', 'lxc', 1)],
    [
      '500',
      { status: 500, statusText: echo, body: JSON.stringify({ data: null, message: echo }) },
      (c) => c.agentInterfaces('pve1', 1),
    ],
    ['595', { status: 595, statusText: `No route to host ${SECRET}` }, (c) => c.lxcInterfaces('pve3', 1)],
    ['503 power', { status: 503, statusText: echo }, (c) => c.powerAction('pve1', 'qemu', 1, 'start')],
    ['not JSON', { status: 200, statusText: 'OK', body: `<html>${SECRET}</html>` }, (c) => c.nodes()],
    [
      'invalid shape',
      { status: 200, statusText: 'OK', body: JSON.stringify({ data: { [SECRET]: { x: 1 } } }) },
      (c) => c.guestConfig('pve1', 'qemu', 1),
    ],
    [
      'invalid value',
      {
        status: 200,
        statusText: 'OK',
        body: JSON.stringify({ data: [{ id: SECRET, type: 'qemu', vmid: SECRET, node: 'n', status: 's' }] }),
      },
      (c) => c.clusterResources(),
    ],
    [
      'connection refused',
      { error: Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: 'ECONNREFUSED' }) },
      (c) => c.clusterStatus(),
    ],
    [
      'socket reset',
      { error: Object.assign(new Error(`other side closed ${SECRET}`), { code: 'UND_ERR_SOCKET' }) },
      (c) => c.powerAction('pve1', 'lxc', 1, 'stop'),
    ],
    ['headers timeout', { error: new undiciErrors.HeadersTimeoutError() }, (c) => c.version()],
    ['body timeout', { error: new undiciErrors.BodyTimeoutError() }, (c) => c.taskStatus(upid)],
    ['pin mismatch', { error: new CertificatePinMismatchError(ORIGIN_1, 'AA', 'BB') }, (c) => c.version()],
  ];

  it.each(failures)('%s: no secret in the error, its cause or the logs', async (_label, reply, act) => {
    const logger = recordingLogger();
    const fake = new FakeDispatcher(() => reply);
    const client = createProxmoxClient(testCluster(), baseDeps({ dispatcher: fake, logger }));
    const error = await act(client).then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProxmoxError);
    // The request did carry the secret, so the check below is meaningful.
    expect(fake.requests[0]?.authorization).toBe(`PVEAPIToken=${TOKEN_ID}=${SECRET}`);
    const texts = everythingIn(error);
    const cause = error instanceof Error ? error.cause : undefined;
    for (const text of [
      texts,
      JSON.stringify(error),
      JSON.stringify(cause ?? null),
      everythingIn(cause),
      logger.lines.join('\n'),
    ]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it('keeps the secret out of the client object itself', () => {
    const client = createProxmoxClient(
      testCluster(),
      baseDeps({ dispatcher: new FakeDispatcher(() => ok(null)) }),
    );
    expect(everythingIn(client)).not.toContain(SECRET);
    expect(JSON.stringify(testCluster())).not.toContain(SECRET);
  });
});

import { describe, expect, it } from 'vitest';
import { type ClusterConfig, ClusterConfigSchema } from '#shared/config/clusters.ts';
import type { ProxmoxClientDeps } from '#shared/proxmox/client.ts';
import { emptyCallCounts } from '#shared/proxmox/endpoint-class.ts';
import type { ProxmoxGateway } from '#shared/proxmox/gateway.ts';
import { createProxmoxConnector } from '#shared/sync/proxmox-connector.ts';

const cluster: ClusterConfig = ClusterConfigSchema.parse({
  id: 'lab-a',
  name: 'Lab A',
  endpoints: [{ url: 'https://127.0.0.1:8006' }],
  tokenId: 'root@pam!sync',
  tokenSecret: { awsSecret: 'pve/lab-a' },
});

/** A gateway whose calls all fail: these tests only look at which client is handed out. */
function fakeGateway(onClose: () => void): ProxmoxGateway {
  const unused = async (): Promise<never> => {
    throw new Error('not used in this test');
  };
  return {
    clusterId: 'lab-a',
    version: unused,
    clusterResources: unused,
    clusterStatus: unused,
    nodes: unused,
    guestConfig: unused,
    guestStatus: unused,
    agentInterfaces: unused,
    lxcInterfaces: unused,
    powerAction: unused,
    taskStatus: unused,
    waitForTask: unused,
    callCounts: () => emptyCallCounts(),
    resetCallCounts: () => undefined,
    close: async () => onClose(),
  };
}

function setup() {
  const clock = { now: 0 };
  let secret = 'secret-1';
  const fetched: string[] = [];
  const created: { secret: string; closed: boolean }[] = [];
  const connector = createProxmoxConnector({
    sources: {
      awsSecret: async (id) => {
        fetched.push(id);
        return secret;
      },
    },
    now: () => clock.now,
    secretMaxAgeMs: 1_000,
    createClient: (_cluster, deps: ProxmoxClientDeps) => {
      const record = { secret: deps.tokenSecret, closed: false };
      created.push(record);
      return fakeGateway(() => {
        record.closed = true;
      });
    },
  });
  return { clock, connector, fetched, created, rotate: (next: string) => (secret = next) };
}

describe('createProxmoxConnector', () => {
  it('reuses one client per cluster while its secret is fresh', async () => {
    const { connector, fetched, created } = setup();
    const [a, b] = await Promise.all([connector.connect(cluster), connector.connect(cluster)]);
    expect(a).toBe(b);
    expect(await connector.connect(cluster)).toBe(a);
    expect(fetched).toEqual(['pve/lab-a']);
    expect(created).toHaveLength(1);
  });

  it('fetches the secret again after its max age and replaces the client when it was rotated', async () => {
    const { clock, connector, fetched, created, rotate } = setup();
    const first = await connector.connect(cluster);
    clock.now = 1_500;
    expect(await connector.connect(cluster)).toBe(first);
    expect(fetched).toHaveLength(2);
    rotate('secret-2');
    clock.now = 3_000;
    const second = await connector.connect(cluster);
    expect(second).not.toBe(first);
    expect(created.map((c) => [c.secret, c.closed])).toEqual([
      ['secret-1', true],
      ['secret-2', false],
    ]);
  });

  it('fetches the secret again at once after an invalidation', async () => {
    const { connector, fetched } = setup();
    await connector.connect(cluster);
    connector.invalidate('lab-a');
    await connector.connect(cluster);
    expect(fetched).toHaveLength(2);
  });
});

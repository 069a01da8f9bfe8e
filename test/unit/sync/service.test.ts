import { describe, expect, it } from 'vitest';
import { createDocumentClient, MissingSettingError } from '#shared/clients/dynamodb.ts';
import { ClusterConfigError } from '#shared/config/clusters.ts';
import { ProxmoxApiError, ProxmoxPermissionError, ProxmoxTimeoutError } from '#shared/proxmox/errors.ts';
import { classifyLiveIpError } from '#shared/sync/engine.ts';
import { clustersFromEnv, repositoriesFromEnv } from '#shared/sync/service.ts';

const CLUSTERS = {
  clusters: [
    {
      id: 'lab-a',
      name: 'Lab A',
      endpoints: [{ url: 'https://127.0.0.1:8006' }],
      tokenId: 'root@pam!sync',
      tokenSecret: { awsSecret: 'pve/lab-a' },
    },
  ],
};

describe('clustersFromEnv', () => {
  it('parses the JSON the deployment puts in CLUSTERS_CONFIG', async () => {
    const file = await clustersFromEnv({ CLUSTERS_CONFIG: JSON.stringify(CLUSTERS) });
    expect(file.clusters.map((c) => c.id)).toEqual(['lab-a']);
  });

  it('names the field of an invalid configuration', async () => {
    const bad = { clusters: [{ ...CLUSTERS.clusters[0], id: 'Bad Id' }] };
    await expect(clustersFromEnv({ CLUSTERS_CONFIG: JSON.stringify(bad) })).rejects.toThrow(
      /CLUSTERS_CONFIG: clusters\[0\]\.id/,
    );
    await expect(clustersFromEnv({ CLUSTERS_CONFIG: JSON.stringify(bad) })).rejects.toBeInstanceOf(
      ClusterConfigError,
    );
  });

  it('says which setting is missing or broken', async () => {
    await expect(clustersFromEnv({})).rejects.toBeInstanceOf(MissingSettingError);
    await expect(clustersFromEnv({ CLUSTERS_CONFIG: '{nope' })).rejects.toThrow(/not valid JSON/);
  });
});

describe('repositoriesFromEnv', () => {
  it('needs a table variable only when that repository is used', () => {
    let clients = 0;
    // Never used to send anything: the repositories are only constructed.
    const documentClient = createDocumentClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
    const repositories = repositoriesFromEnv({ SYNC_STATE_TABLE: 'state' }, () => {
      clients++;
      return documentClient;
    });
    expect(() => repositories.inventory).toThrow(/INVENTORY_TABLE/);
    expect(repositories.syncState).toBeDefined();
    expect(clients).toBe(1);
  });
});

describe('classifyLiveIpError', () => {
  const ctx = { clusterId: 'lab-a', endpointClass: 'agent' as const, status: 500 };

  it('treats a stopped or absent agent as a negative-cache entry, not an error', () => {
    expect(
      classifyLiveIpError(
        new ProxmoxApiError('x', { ...ctx, serverMessage: 'QEMU guest agent is not running' }),
      ),
    ).toEqual({ kind: 'agent-unavailable', state: 'not_running' });
    expect(
      classifyLiveIpError(
        new ProxmoxApiError('x', { ...ctx, serverMessage: 'No QEMU guest agent configured' }),
      ),
    ).toEqual({ kind: 'agent-unavailable', state: 'absent' });
    expect(
      classifyLiveIpError(new ProxmoxTimeoutError('x', { ...ctx, phase: 'headers', timeoutMs: 1 })),
    ).toEqual({
      kind: 'agent-unavailable',
      state: 'not_running',
    });
  });

  it('keeps a missing privilege as an error with its hint', () => {
    const outcome = classifyLiveIpError(
      new ProxmoxPermissionError('permission denied - guest agent calls need VM.Monitor', {
        ...ctx,
        status: 403,
      }),
    );
    expect(outcome).toMatchObject({ kind: 'error' });
    expect(outcome.kind === 'error' ? outcome.message : '').toMatch(/VM\.Monitor/);
  });
});

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { ProxmoxError, ProxmoxTimeoutError } from '#shared/proxmox/errors.ts';
import { createHttpsProxmoxClient } from '#shared/proxmox/https-client.ts';
import { makeCertificate, makeCertificateAuthority } from '#simulator/certificate.ts';

/**
 * The node:https transport's own behaviour on a loopback HTTPS server that misbehaves in ways the
 * simulator does not (a body that stalls after its first bytes), and its keep-alive reuse.
 */
const SECRET = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
let server: Server;
let connections = 0;
let url: string;
let caPem: string;

beforeAll(async () => {
  const ca = await makeCertificateAuthority('transport test CA');
  const cert = await makeCertificate('127.0.0.1', ca);
  caPem = ca.certPem;
  server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    if (req.url === '/api2/json/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { version: '9.0.3', release: '9.0', repoid: 'abc' } }));
      return;
    }
    // Headers and the first bytes at once, then nothing.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"data": [');
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client() {
  const file = parseClustersFile(
    {
      clusters: [
        {
          id: 'lab',
          name: 'Lab',
          endpoints: [{ url }],
          tokenId: 'inventory@pve!sync',
          tokenSecret: { env: 'UNUSED' },
          tls: { caPem },
        },
      ],
    },
    'test',
  );
  const cluster = file.clusters[0];
  if (cluster === undefined) throw new Error('no cluster');
  return createHttpsProxmoxClient(cluster, {
    tokenSecret: SECRET,
    retry: { retries: 0 },
    timeouts: { resources: { headersMs: 2_000, bodyMs: 300 } },
  });
}

describe('Proxmox client on node:https', () => {
  it('reuses one keep-alive connection for consecutive calls', async () => {
    const pve = client();
    connections = 0;
    for (let i = 0; i < 3; i++) expect((await pve.version()).version).toBe('9.0.3');
    expect(connections).toBe(1);
    await pve.close();
  });

  it('gives a ProxmoxTimeoutError (body) when the response body stalls, without the token', async () => {
    const pve = client();
    const error = await pve.clusterResources().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProxmoxTimeoutError);
    expect(error).toMatchObject({ phase: 'body', timeoutMs: 300 });
    expect(
      error instanceof ProxmoxError && JSON.stringify({ ...error, message: error.message }),
    ).not.toContain(SECRET);
    await pve.close();
  });
});

import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createListVmsHandler } from '#functions/api/list-vms.ts';
import type { GatewayLambdaHandler } from '#local/gateway/server.ts';
import { InventoryReadCache } from '#shared/api/read-cache.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld, vmItem } from './api-world.ts';

/**
 * GET /api/vms of a warm function (read cache, memoized times, a large body gzipped at the fast
 * level) answers, byte for byte, what a function without any cache answers, through the gateway,
 * gzipped or not, for an admin and a user, while the clock runs (uptime, staleness, pending actions
 * expiring) and VMs change.
 */

let clock = NOW_MS;
let world: ApiWorld;
let cache: InventoryReadCache;
let warm: GatewayLambdaHandler;
let uncached: GatewayLambdaHandler;

/** One route, two functions: the request header picks the one without a cache. */
const listVms: GatewayLambdaHandler = (event, context) => {
  const headers = (event as unknown as { headers: Record<string, string | undefined> }).headers;
  return (headers['x-test-uncached'] === '1' ? uncached : warm)(event, context);
};

const CLUSTERS = { 'lab-a': 300, 'lab-b': 200 } as const;

beforeAll(async () => {
  world = await startApiWorld('list-json', { listVms }, () => clock);
  cache = new InventoryReadCache({ now: () => clock });
  warm = createListVmsHandler(() => ({ ...world.deps, readCache: cache }));
  uncached = createListVmsHandler(() => world.deps);
  const { inventory, syncState, ownership } = world.repositories;
  for (const [cluster, count] of Object.entries(CLUSTERS)) {
    await inventory.batchPut(
      Array.from({ length: count }, (_, i) =>
        vmItem(cluster, 100 + i, {
          name: `vm "${cluster}" ${i} é`,
          status: i % 4 === 0 ? 'stopped' : 'running',
          boot_time: NOW_MS - 1000 * (i * 37 + 1),
          sync_error: i % 50 === 1 ? 'config read failed at node pve1' : null,
          tag_list: i % 3 === 0 ? ['exam', 'lab'] : ['lab'],
        }),
      ),
    );
    await syncState.putClusterState(freshClusterState(cluster, { total: count, running: 0, error: 0 }));
    await syncState.bumpInventoryVersion(cluster);
  }
  for (const vmid of [101, 151, 200]) {
    await ownership.putAssignment({
      username: 'alice',
      cluster_id: 'lab-a',
      vmid,
      source: 'admin',
      created_at: NOW_MS,
    });
  }
  await syncState.bumpOwnershipVersion();
}, 120_000);

afterAll(async () => {
  await world?.close();
});

/** The text of a list answer (gunzipped when gzipped), with the response's encoding. */
async function listText(token: string, options: { gzip: boolean; uncached?: boolean }) {
  const headers: Record<string, string> = {};
  if (options.gzip) headers['accept-encoding'] = 'gzip';
  if (options.uncached) headers['x-test-uncached'] = '1';
  // node:http, which sends only the headers given (fetch would ask for gzip and decode it itself).
  const { status, encoding, bytes } = await new Promise<{
    status: number | undefined;
    encoding: string | undefined;
    bytes: Buffer;
  }>((resolve, reject) => {
    const req = httpRequest(`${world.gateway.url}/api/vms`, {
      headers: { ...headers, authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const header = res.headers['content-encoding'];
        resolve({ status: res.statusCode, encoding: header, bytes: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(200);
  return { encoding: encoding ?? null, text: bytes.toString('utf8'), bytes };
}

describe('the warm list answers what an uncached one does', () => {
  it('byte for byte, gzipped or not, as time runs and VMs change', async () => {
    const { inventory, syncState } = world.repositories;
    const steps: (() => Promise<void>)[] = [
      async () => {
        clock += 1000;
      },
      async () => {
        clock += 61_000;
      },
      async () => {
        // A user's action: pending at once, then over after its expiry.
        await inventory.setPending({ key: { cluster_id: 'lab-a', vmid: 104 }, action: 'stop', since: clock });
        await syncState.bumpInventoryVersion('lab-a');
      },
      async () => {
        await inventory.batchPut([vmItem('lab-b', 110, { status: 'stopped', name: 'renamed' })]);
        await syncState.bumpInventoryVersion('lab-b');
      },
      async () => {
        clock += 125_000;
      },
      async () => {
        // Past the staleness cutoff: every VM turns stale.
        clock += 11 * 60_000;
      },
    ];
    for (const step of [async () => {}, ...steps]) {
      await step();
      for (const token of [world.tokens.admin, world.tokens.studentA]) {
        const expected = await listText(token, { gzip: false, uncached: true });
        const plain = await listText(token, { gzip: false });
        expect(plain.encoding).toBeNull();
        expect(plain.text).toBe(expected.text);
        const zipped = await listText(token, { gzip: true });
        if (token === world.tokens.admin) expect(zipped.encoding).toBe('gzip');
        const text = zipped.encoding === 'gzip' ? gunzipSync(zipped.bytes).toString('utf8') : zipped.text;
        expect(text).toBe(expected.text);
      }
    }
    // The warm function answered from memory, not by reading every cluster each time.
    expect(cache.counters.clusterHits).toBeGreaterThan(0);
  }, 120_000);
});

import { request as httpRequest } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { NewStoredVm } from '#shared/domain/vm-record.ts';
import { MAX_LIST_LIMIT } from '#shared/http/schemas/common.ts';
import { SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';
import { ListVmsResponseSchema } from '#shared/http/schemas/vms.ts';
import { type ApiWorld, freshClusterState, NOW_MS, startApiWorld, vmItem } from './api-world.ts';

/** 10,000 VMs on three clusters whose VMIDs overlap. */
const CLUSTERS = { 'lab-a': 4000, 'lab-b': 3500, 'lab-c': 2500 } as const;
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;

let world: ApiWorld;
const expectedKeys: string[] = [];

beforeAll(async () => {
  world = await startApiWorld('api-large');
  const items: NewStoredVm[] = [];
  for (const [cluster, count] of Object.entries(CLUSTERS)) {
    for (let i = 0; i < count; i++) {
      const vmid = 100 + i * 3;
      items.push(
        vmItem(cluster, vmid, {
          name: `${i % 7 === 0 ? 'win' : 'lnx'}-${cluster}-${vmid}-${'x'.repeat(i % 40)}`,
          status: i % 5 === 0 ? 'stopped' : 'running',
          sync_error: i % 97 === 0 ? 'guest agent did not answer' : null,
          tag_list: i % 11 === 0 ? ['exam', 'lab'] : ['lab'],
          node: `pve${(i % 3) + 1}`,
        }),
      );
      expectedKeys.push(`${cluster}:${vmid}`);
    }
  }
  await world.repositories.inventory.batchPut(items);
  for (const [cluster, count] of Object.entries(CLUSTERS)) {
    const mine = items.filter((vm) => vm.cluster_id === cluster);
    const base = freshClusterState(cluster, {
      total: count,
      running: mine.filter((vm) => vm.status === 'running').length,
      error: mine.filter((vm) => vm.sync_error !== null && vm.sync_error !== undefined).length,
    });
    const at = NOW_MS - 30_000;
    const online = { online: true, last_seen_at: at, last_online_at: at };
    await world.repositories.syncState.putClusterState({
      ...base,
      nodes: { pve1: online, pve2: online, pve3: online },
    });
  }
  // alice sees 20 VMs spread over the clusters, including the same VMID on two clusters
  for (const [cluster, vmid] of [
    ...[100, 103, 106, 109, 112, 115, 118].map((v) => ['lab-a', v] as const),
    ...[100, 103, 106, 109, 112, 115, 118].map((v) => ['lab-b', v] as const),
    ...[100, 103, 106, 109, 112, 115].map((v) => ['lab-c', v] as const),
  ]) {
    await world.repositories.ownership.putAssignment({
      username: 'alice',
      cluster_id: cluster,
      vmid,
      source: 'admin',
      created_at: NOW_MS,
    });
  }
}, 180_000);

afterAll(async () => {
  await world?.close();
});

async function listPage(query: string, token = world.tokens.admin) {
  const response = await world.request('GET', `/api/vms${query}`, { token });
  expect(response.status).toBe(200);
  return ListVmsResponseSchema.parse(await response.json());
}

async function pageThrough(query: string): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = query === '' ? '?' : '&';
    const page = await listPage(
      `${query}${cursor === null ? '' : `${query === '' ? '?' : separator}cursor=${cursor}`}`,
    );
    keys.push(...page.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`));
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { keys, pages };
}

/** The raw (compressed) size of an answer, as the client receives it. */
function rawSize(
  path: string,
  headers: Record<string, string>,
): Promise<{ bytes: number; encoding: string | undefined }> {
  const url = new URL(`${world.gateway.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a 10,000-VM inventory', () => {
  it('pages an admin through every VM without a limit: 2,000 a page, no duplicate, no gap', async () => {
    const { keys, pages } = await pageThrough('');
    expect(pages).toBe(5);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(expectedKeys);
  });

  it('pages with a filter and an odd limit without duplicate or gap', async () => {
    const { keys } = await pageThrough('?search=WIN&limit=177');
    const expected = expectedKeys.filter((key) => {
      const [cluster, vmid] = key.split(':');
      const i = (Number(vmid) - 100) / 3;
      return cluster !== undefined && i % 7 === 0;
    });
    expect(keys).toEqual(expected);
  });

  it('keeps the first page of 2,000 under the Lambda 6 MB limit, gzipped for clients that accept it', async () => {
    const headers = { authorization: `Bearer ${world.tokens.admin}` };
    const plain = await rawSize('/api/vms', headers);
    const zipped = await rawSize('/api/vms', { ...headers, 'accept-encoding': 'gzip' });
    expect(plain.encoding).toBeUndefined();
    expect(plain.bytes).toBeLessThan(LAMBDA_RESPONSE_LIMIT);
    expect(zipped.encoding).toBe('gzip');
    // the Lambda response carries the gzip as base64
    expect(Math.ceil(zipped.bytes / 3) * 4).toBeLessThan(plain.bytes / 4);
    const page = await listPage('');
    expect(page.vms).toHaveLength(MAX_LIST_LIMIT);
  });

  it("answers a student's 20 VMs from a BatchGet of exactly them", async () => {
    const page = await listPage('', world.tokens.studentA);
    expect(page.vms).toHaveLength(20);
    expect(page.next_cursor).toBeNull();
    const limited = await listPage('?limit=8', world.tokens.studentA);
    const rest = await listPage(`?limit=20&cursor=${limited.next_cursor}`, world.tokens.studentA);
    expect([...limited.vms, ...rest.vms].map((vm) => `${vm.cluster_id}:${vm.vmid}`)).toEqual(
      page.vms.map((vm) => `${vm.cluster_id}:${vm.vmid}`),
    );
  });

  it('answers stats equal to a direct count of the table', async () => {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await world.tables.documentClient.send(
        new ScanCommand({ TableName: world.tables.names.inventory, ExclusiveStartKey: startKey }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    const stats = SyncStatsResponseSchema.parse(
      await (await world.request('GET', '/api/sync/stats', { token: world.tokens.admin })).json(),
    );
    expect(stats.total_vms).toBe(items.length);
    expect(stats.running_vms).toBe(items.filter((item) => item.status === 'running').length);
    expect(stats.error_vms).toBe(items.filter((item) => typeof item.sync_error === 'string').length);
    expect(stats.fresh_vms).toBe(items.length);
    const alice = SyncStatsResponseSchema.parse(
      await (await world.request('GET', '/api/sync/stats', { token: world.tokens.studentA })).json(),
    );
    expect(alice.total_vms).toBe(20);
  });
});

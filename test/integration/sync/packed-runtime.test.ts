import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncStateKeys } from '#shared/store/table-design.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

/**
 * The packed runtime set on real quick passes (DynamoDB Local + simulator with load drift): one
 * item per cluster whose rounded values moved, within one write unit for ~200 guests; nothing for
 * a cluster whose values did not move; items of the previous per-node format replaced.
 */

let h: SyncHarness;

/** The simulator's drift bucket (simulator/cluster-model.ts: 10 s, like pvestatd). */
const DRIFT_BUCKET_MS = 10_000;

beforeAll(async () => {
  h = await startSyncHarness('sync-packed', { guestsPerCluster: 200, drift: true });
  for (const cluster of h.sim.clusters) {
    expect((await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' })).summary.ok).toBe(
      true,
    );
  }
});

afterAll(async () => {
  await h?.close();
});

async function runtimeItems(clusterId: string): Promise<Record<string, unknown>[]> {
  const result = await h.tables.documentClient.send(
    new QueryCommand({
      TableName: h.tables.names.syncState,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': syncStateKeys.clusterPartition(clusterId), ':prefix': 'RUNTIME' },
    }),
  );
  return result.Items ?? [];
}

describe('packed runtime sets on quick passes', () => {
  it('writes one item per cluster whose values moved, within one write unit, and none when nothing moved', async () => {
    // The simulator's clock is real time plus what the test moved it by, and its figures drift in
    // 10 s buckets: a pair of passes is compared only when both ran inside one bucket (the pair is
    // run again, at the start of a fresh bucket, if real time crossed a boundary under load).
    const bucket = () => Math.floor(h.sim.now() / DRIFT_BUCKET_MS);
    for (let pass = 0; pass < 3; pass++) {
      for (const cluster of h.sim.clusters) {
        let compared = false;
        for (let attempt = 0; attempt < 3 && !compared; attempt++) {
          // 30 s later, at the start of a drift bucket
          await h.tick(30_000 + DRIFT_BUCKET_MS - (h.sim.now() % DRIFT_BUCKET_MS));
          const before = bucket();
          const moved = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
          expect(moved.summary.ok).toBe(true);
          // Under drift every node's values move each 30 s: still one item for the whole cluster.
          expect(moved.writes.runtime).toBe(1);
          // The same 10 s drift bucket again: no rounded value moved, nothing is written.
          const still = await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'quick' });
          if (bucket() !== before) continue;
          expect(still.writes.runtime).toBe(0);
          compared = true;
        }
        expect(compared).toBe(true);
      }
    }
    for (const cluster of h.sim.clusters) {
      const items = await runtimeItems(cluster.id);
      expect(items.map((item) => item.sk)).toEqual(['RUNTIMESET#000']);
      // Writing the item again costs what a pass pays for it: one unit.
      const put = await h.tables.documentClient.send(
        new PutCommand({
          TableName: h.tables.names.syncState,
          Item: items[0],
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      expect(put.ConsumedCapacity?.CapacityUnits).toBe(1);
      // Every node and running guest is in it, as the API shows them.
      const runtime = await h.repositories.syncState.readRuntime(cluster.id);
      expect([...runtime.keys()].sort()).toEqual([...cluster.nodes].sort());
      const running = h.sim.groundTruth(cluster.id).filter((g) => g.status === 'running').length;
      expect([...runtime.values()].reduce((sum, node) => sum + node.stats.size, 0)).toBe(running);
    }
  });

  it('replaces items of the previous per-node format on the first pass, with later times', async () => {
    const clusterId = h.sim.clusters[0]?.id ?? '';
    const current = await h.repositories.syncState.readRuntime(clusterId);
    // A table as the previous version left it: per-node items, no set.
    await h.tables.documentClient.send(
      new DeleteCommand({ TableName: h.tables.names.syncState, Key: syncStateKeys.runtimeSet(clusterId, 0) }),
    );
    const legacyAt = h.clock.now + 60_000; // even a time ahead of the pass's clock is followed
    for (const node of current.values()) {
      await h.tables.documentClient.send(
        new PutCommand({
          TableName: h.tables.names.syncState,
          Item: {
            ...syncStateKeys.runtime(clusterId, node.node, 0),
            cluster_id: clusterId,
            node: node.node,
            chunk: 0,
            chunk_count: 1,
            observed_at: legacyAt,
            stats: Object.fromEntries(
              [...node.stats].map(([vmid, s]) => [String(vmid), [s.cpu_usage, s.memory_usage]]),
            ),
          },
        }),
      );
    }
    // API readers ignore them (no CPU and memory until the pass below).
    expect(await h.repositories.syncState.readRuntime(clusterId)).toEqual(new Map());

    await h.tick(30_000);
    const result = await h.service.syncClusterDetailed({ cluster_id: clusterId, mode: 'quick' });
    expect(result.summary.ok).toBe(true);
    // The set, and the deletion of each per-node item.
    expect(result.writes.runtime).toBe(1 + current.size);
    expect((await runtimeItems(clusterId)).map((item) => item.sk)).toEqual(['RUNTIMESET#000']);
    const after = await h.repositories.syncState.readRuntime(clusterId);
    expect([...after.keys()].sort()).toEqual([...current.keys()].sort());
    const state = await h.tables.documentClient.send(
      new GetCommand({ TableName: h.tables.names.syncState, Key: syncStateKeys.clusterState(clusterId) }),
    );
    for (const node of after.values()) {
      // Times follow the old items' (the read cache holds a node's samples by its time)…
      expect(node.observed_at).toBeGreaterThan(legacyAt);
      // …and the state names them.
      expect(state.Item?.nodes?.[node.node]?.runtime_at).toBe(node.observed_at);
    }
  });
});

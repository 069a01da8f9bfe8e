import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPack } from '#shared/domain/history-pack.ts';
import { readVmHistory } from '#shared/domain/metrics-history.ts';
import { historyKeys } from '#shared/store/table-design.ts';
import { type SyncHarness, startSyncHarness } from './harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness('metrics-history', { guestsPerCluster: 30, drift: false });
  for (const cluster of h.sim.clusters) {
    expect((await h.service.syncClusterDetailed({ cluster_id: cluster.id, mode: 'full' })).summary.ok).toBe(
      true,
    );
  }
});

afterAll(async () => {
  await h?.close();
});

describe('metrics history from real quick passes (DynamoDB Local + simulator)', () => {
  const passes: { at: number; history: number }[] = [];
  let start = 0;

  it('puts one item for the cluster on the first pass of each minute, none on the second', async () => {
    // Move to 5 s into the next quarter hour, then pass every 30 s for 16 minutes.
    await h.tick(15 * 60_000 - (h.clock.now % (15 * 60_000)) + 5_000);
    start = h.clock.now - 5_000;
    for (let pass = 0; pass < 33; pass++) {
      const result = await h.service.syncClusterDetailed({ cluster_id: 'sim-1', mode: 'quick' });
      expect(result.summary.ok).toBe(true);
      passes.push({ at: h.clock.now, history: result.writes.history });
      await h.tick(30_000);
    }
    // Passes at :05 write the minute (and, at the next quarter, its aggregate); passes at :35 write nothing.
    expect(passes[0]?.history).toBe(1);
    expect(passes[1]?.history).toBe(0);
    expect(passes[30]?.history).toBe(2);
    expect(passes.filter((p) => p.history > 0)).toHaveLength(17);
    expect(passes.reduce((sum, p) => sum + p.history, 0)).toBe(17 + 1);
  });

  it('stores every node of the minute in one small packed item (the items a Query sees, with TTL)', async () => {
    const result = await h.tables.documentClient.send(
      new QueryCommand({
        TableName: h.tables.names.syncState,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': historyKeys.partition('sim-1', '1m') },
      }),
    );
    const items = result.Items ?? [];
    expect(items).toHaveLength(17);
    // Every node with a running guest has its section in the minute's one item.
    const running = new Set(
      h.sim
        .groundTruth('sim-1')
        .filter((g) => g.status === 'running')
        .map((g) => g.node),
    );
    expect(running.size).toBeGreaterThan(1);
    for (const item of items) {
      expect(item.p).toBeInstanceOf(Uint8Array);
      expect(item.p.length).toBeLessThan(1024);
      expect(new Set(decodeHistoryPack(item.p).map((section) => section.node))).toEqual(running);
      expect(item.expires_at).toBe(Math.ceil((item.t + 25 * 3600_000) / 1000));
    }
  });

  it('reads back a running VM at one-minute resolution with the values the quick pass observed', async () => {
    const runtime = await h.repositories.syncState.readRuntime('sim-1');
    const [node, stats] =
      [...runtime].flatMap(([name, r]) => [...r.stats].map((s) => [name, s] as const))[0] ?? [];
    if (!node || !stats) throw new Error('no running guest');
    const [vmid, sample] = stats;
    const samples = await readVmHistory(h.repositories.history, {
      cluster: 'sim-1',
      vmid,
      from: start,
      to: h.clock.now,
      resolution: '1m',
    });
    expect(samples.map((s) => s.t)).toEqual(Array.from({ length: 17 }, (_, i) => start + i * 60_000));
    // Drift is off: every sample equals the stored runtime stats (one decimal).
    for (const s of samples) {
      expect(s).toMatchObject({
        cpu_avg: sample.cpu_usage,
        cpu_max: sample.cpu_usage,
        mem_avg: sample.memory_usage,
      });
    }
    const quarters = await readVmHistory(h.repositories.history, {
      cluster: 'sim-1',
      vmid,
      from: start - 3600_000,
      to: h.clock.now,
      resolution: '15m',
    });
    expect(quarters).toEqual([
      {
        t: start,
        cpu_avg: sample.cpu_usage,
        cpu_max: sample.cpu_usage,
        mem_avg: sample.memory_usage,
        mem_max: sample.memory_usage,
      },
    ]);
    // The other cluster was not synced in this window: its VM of the same VMID has no history.
    expect(
      await readVmHistory(h.repositories.history, {
        cluster: 'sim-2',
        vmid,
        from: start,
        to: h.clock.now,
        resolution: '1m',
      }),
    ).toEqual([]);
  });

  it('keeps no history of a stopped VM', async () => {
    const stopped = h.sim.groundTruth('sim-1').find((g) => g.status === 'stopped');
    if (!stopped) throw new Error('no stopped guest');
    expect(
      await readVmHistory(h.repositories.history, {
        cluster: 'sim-1',
        vmid: stopped.vmid,
        from: start,
        to: h.clock.now,
        resolution: '1m',
      }),
    ).toEqual([]);
  });
});

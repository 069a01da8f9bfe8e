import { describe, expect, it } from 'vitest';
import {
  chunkRuntimeStats,
  findRuntimeSample,
  mergeRuntimeChunks,
  type RuntimeChunk,
  RuntimeChunkSchema,
  type RuntimeSample,
  roundUsage,
  runtimeStatsEqual,
} from '#shared/domain/runtime-stats.ts';

const sample = (cpu: number, mem: number): RuntimeSample => ({ cpu_usage: cpu, memory_usage: mem });

describe('runtime stats', () => {
  it('rounds usage to one decimal and clamps bad values to 0', () => {
    expect(roundUsage(12.345)).toBe(12.3);
    expect(roundUsage(-1)).toBe(0);
    expect(roundUsage(Number.NaN)).toBe(0);
  });

  it('splits samples into ordered, rounded chunks', () => {
    const stats = new Map([
      [103, sample(1.26, 2)],
      [101, sample(0, 50.04)],
      [102, sample(3, 4)],
    ]);
    expect(chunkRuntimeStats(stats, 2)).toEqual([{ '101': [0, 50], '102': [3, 4] }, { '103': [1.3, 2] }]);
    expect(chunkRuntimeStats(new Map())).toEqual([{}]);
  });

  it('keeps a 10,000-guest node chunk far below the 400 KB item limit', () => {
    const stats = new Map(
      Array.from({ length: 10_000 }, (_, i) => [100_000 + i, sample(99.9, 99.9)] as const),
    );
    const chunks = chunkRuntimeStats(stats);
    for (const chunk of chunks) expect(JSON.stringify(chunk).length).toBeLessThan(100_000);
  });

  it('merges only the newest set of each node, ignoring leftover chunks', () => {
    const chunk = (
      node: string,
      index: number,
      count: number,
      at: number,
      stats: RuntimeChunk['stats'],
    ): RuntimeChunk =>
      RuntimeChunkSchema.parse({
        cluster_id: 'c',
        node,
        chunk: index,
        chunk_count: count,
        observed_at: at,
        stats,
      });
    const runtime = mergeRuntimeChunks([
      chunk('pve1', 0, 1, 200, { '101': [1, 2] }),
      chunk('pve1', 1, 2, 100, { '102': [9, 9] }), // leftover of an older two-chunk set
      chunk('pve2', 0, 2, 150, { '201': [3, 4] }),
      chunk('pve2', 1, 2, 150, { '202': [5, 6] }),
    ]);
    expect([...(runtime.get('pve1')?.stats.keys() ?? [])]).toEqual([101]);
    expect(runtime.get('pve2')?.stats.get(202)).toEqual(sample(5, 6));
  });

  it('finds a sample on the VM’s node first, else on the newest node listing it (migration)', () => {
    const runtime = mergeRuntimeChunks([
      RuntimeChunkSchema.parse({
        cluster_id: 'c',
        node: 'a',
        chunk: 0,
        chunk_count: 1,
        observed_at: 1,
        stats: { '101': [1, 1] },
      }),
      RuntimeChunkSchema.parse({
        cluster_id: 'c',
        node: 'b',
        chunk: 0,
        chunk_count: 1,
        observed_at: 2,
        stats: { '101': [2, 2] },
      }),
    ]);
    expect(findRuntimeSample(runtime, { vmid: 101, node: 'a' })).toEqual(sample(1, 1));
    expect(findRuntimeSample(runtime, { vmid: 101, node: 'c' })).toEqual(sample(2, 2));
    expect(findRuntimeSample(runtime, { vmid: 999, node: 'a' })).toBeUndefined();
  });

  it('compares samples by their stored (rounded) values', () => {
    expect(runtimeStatsEqual(new Map([[1, sample(1.01, 2)]]), new Map([[1, sample(1.04, 2)]]))).toBe(true);
    expect(runtimeStatsEqual(new Map([[1, sample(1.0, 2)]]), new Map([[1, sample(1.1, 2)]]))).toBe(false);
    expect(runtimeStatsEqual(new Map([[1, sample(1, 2)]]), new Map())).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  findRuntimeSample,
  mergeRuntimeChunks,
  nextRuntimeSet,
  nextRuntimeSetTime,
  type RuntimeChunk,
  RuntimeChunkSchema,
  type RuntimeSample,
  roundUsage,
  runtimeStatsEqual,
} from '#shared/domain/runtime-stats.ts';

const sample = (cpu: number, mem: number): RuntimeSample => ({ cpu_usage: cpu, memory_usage: mem });

describe('runtime stats (and the previous per-node format read for the migration)', () => {
  it('rounds usage to one decimal and clamps bad values to 0', () => {
    expect(roundUsage(12.345)).toBe(12.3);
    expect(roundUsage(-1)).toBe(0);
    expect(roundUsage(Number.NaN)).toBe(0);
  });

  it('builds the next set: rewritten nodes replaced (rounded), others kept, departed ones dropped', () => {
    const previous = new Map([
      ['a', { node: 'a', observed_at: 10, stats: new Map([[101, sample(1, 1)]]) }],
      ['b', { node: 'b', observed_at: 11, stats: new Map([[201, sample(2, 2)]]) }],
      ['c', { node: 'c', observed_at: 12, stats: new Map([[301, sample(3, 3)]]) }],
    ]);
    expect(nextRuntimeSet(previous, [], [])).toBeNull();
    const next = nextRuntimeSet(
      previous,
      [{ node: 'a', stats: new Map([[101, sample(5.04, 6.06)]]), observedAt: 20 }],
      ['c'],
    );
    expect(next).toEqual(
      new Map([
        ['a', { node: 'a', observed_at: 20, stats: new Map([[101, sample(5, 6.1)]]) }],
        ['b', previous.get('b')],
      ]),
    );
    // The previous set is left as it was.
    expect(previous.get('a')?.observed_at).toBe(10);
  });

  it('gives a new set a time after the one it replaces', () => {
    expect(nextRuntimeSetTime(1_000, null)).toBe(1_000);
    expect(nextRuntimeSetTime(1_000, 500)).toBe(1_000);
    expect(nextRuntimeSetTime(1_000, 1_000)).toBe(1_001);
    expect(nextRuntimeSetTime(1_000, 4_000)).toBe(4_001);
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

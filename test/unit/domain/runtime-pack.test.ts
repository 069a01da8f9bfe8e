import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRuntimePack,
  encodeRuntimePack,
  mergePackedSections,
  newestSetChunks,
  type PackedNodeSection,
  packClusterRuntime,
  RuntimePackError,
  RuntimeSetItemSchema,
} from '#shared/domain/runtime-pack.ts';
import { type ClusterRuntime, type NodeRuntime, roundUsage } from '#shared/domain/runtime-stats.ts';

const percent = fc.double({ min: 0, max: 150, noNaN: true });
const nodeName = fc.oneof(
  fc.constantFrom('pve1', 'pve-02', 'ñode'),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const section = fc.record({
  node: nodeName,
  observed_at: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  stats: fc
    .uniqueArray(fc.integer({ min: 100, max: 999_999_999 }), { maxLength: 60 })
    .chain((vmids) =>
      fc
        .array(fc.tuple(percent, percent), { minLength: vmids.length, maxLength: vmids.length })
        .map(
          (values) =>
            new Map(
              vmids.map((vmid, i) => [
                vmid,
                { cpu_usage: values[i]?.[0] ?? 0, memory_usage: values[i]?.[1] ?? 0 },
              ]),
            ),
        ),
    ),
});
const sections = fc.uniqueArray(section, { maxLength: 5, selector: (s) => s.node });

/** What a reader must get back: every sample rounded to 0.1, as the API shows it. */
function rounded(input: readonly PackedNodeSection[]): PackedNodeSection[] {
  return input.map((s) => ({
    node: s.node,
    observed_at: s.observed_at,
    stats: new Map(
      [...s.stats]
        .sort(([a], [b]) => a - b)
        .map(([vmid, v]) => [
          vmid,
          { cpu_usage: roundUsage(v.cpu_usage), memory_usage: roundUsage(v.memory_usage) },
        ]),
    ),
  }));
}

const node = (name: string, at: number, from: number, count: number, step = 1): NodeRuntime => ({
  node: name,
  observed_at: at,
  stats: new Map(
    Array.from({ length: count }, (_, i) => [
      from + i * step,
      { cpu_usage: (i % 600) / 10, memory_usage: 42.5 },
    ]),
  ),
});

describe('runtime pack', () => {
  it('round-trips any node sections with values rounded to 0.1', () => {
    fc.assert(
      fc.property(sections, (input) => {
        expect(decodeRuntimePack(encodeRuntimePack(input))).toEqual(rounded(input));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every truncation and any trailing byte of a valid pack', () => {
    fc.assert(
      fc.property(
        sections.filter((s) => s.length > 0),
        (input) => {
          const bytes = encodeRuntimePack(input);
          for (let length = 0; length < bytes.length; length++) {
            expect(() => decodeRuntimePack(bytes.subarray(0, length))).toThrow(RuntimePackError);
          }
          expect(() => decodeRuntimePack(Uint8Array.from([...bytes, 0]))).toThrow(RuntimePackError);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never throws anything but RuntimePackError on corrupt bytes', () => {
    fc.assert(
      fc.property(sections, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, at, flip) => {
        const bytes = encodeRuntimePack(input);
        const corrupt = Uint8Array.from(bytes);
        const index = at % corrupt.length;
        corrupt[index] = (corrupt[index] ?? 0) ^ flip;
        try {
          const decoded = decodeRuntimePack(corrupt);
          // A flip that still decodes gives well-formed sections.
          for (const s of decoded) {
            for (const [vmid, v] of s.stats) {
              expect(Number.isInteger(vmid) && vmid >= 0 && vmid <= 999_999_999).toBe(true);
              expect(v.cpu_usage >= 0 && v.memory_usage >= 0).toBe(true);
            }
          }
        } catch (error) {
          expect(error).toBeInstanceOf(RuntimePackError);
        }
      }),
      { numRuns: 500 },
    );
    expect(() => decodeRuntimePack(Uint8Array.from([2, 0]))).toThrow(/unknown runtime pack format 2/);
    expect(() => decodeRuntimePack(new Uint8Array())).toThrow(RuntimePackError);
    // A node name that is not UTF-8.
    expect(() => decodeRuntimePack(Uint8Array.from([1, 1, 1, 0xff, 0, 0, 0, 0]))).toThrow(/UTF-8/);
  });

  it('keeps a reference cluster (3 nodes × ~67 running guests) within one write unit', () => {
    const runtime: ClusterRuntime = new Map(
      [
        node('pve1', 1_765_000_000_000, 100, 67),
        node('pve2', 1_765_000_000_000, 167, 67),
        node('pve3', 1_765_000_000_001, 234, 67),
      ].map((n) => [n.node, n]),
    );
    const [pack, ...more] = packClusterRuntime(runtime, 10_000);
    expect(more).toEqual([]);
    // Item keys and attribute names take ~80 bytes more; a write unit is 1 KB.
    expect(pack?.length).toBeLessThan(700);
  });

  it('splits a set at the chunk limit, empty nodes in the first chunk, and merges it back', () => {
    const runtime: ClusterRuntime = new Map(
      [node('a', 5, 100, 7), node('b', 6, 1_000, 0), node('c', 7, 2_000, 5, 3)].map((n) => [n.node, n]),
    );
    const packs = packClusterRuntime(runtime, 4);
    expect(packs.map((p) => decodeRuntimePack(p).map((s) => [s.node, s.stats.size]))).toEqual([
      [
        ['a', 4],
        ['b', 0],
      ],
      [
        ['a', 3],
        ['c', 1],
      ],
      [['c', 4]],
    ]);
    expect(mergePackedSections(packs.flatMap((p) => decodeRuntimePack(p)))).toEqual(runtime);
    // Exactly at the limit: one chunk.
    expect(packClusterRuntime(new Map([['a', node('a', 1, 100, 4)]]), 4)).toHaveLength(1);
    expect(packClusterRuntime(new Map(), 4).map((p) => decodeRuntimePack(p))).toEqual([[]]);
  });

  it('keeps the newest set’s chunks only and reads stream images in base64', () => {
    const item = (chunk: number, count: number, at: number) =>
      RuntimeSetItemSchema.parse({
        cluster_id: 'c',
        chunk,
        chunk_count: count,
        observed_at: at,
        packed: Buffer.from(encodeRuntimePack([])).toString('base64'),
      });
    const chunks = newestSetChunks([item(1, 3, 100), item(0, 2, 200), item(2, 3, 100), item(1, 2, 200)]);
    expect(chunks.map((c) => [c.chunk, c.observed_at])).toEqual([
      [0, 200],
      [1, 200],
    ]);
    expect(chunks[0]?.packed).toEqual(encodeRuntimePack([]));
    expect(RuntimeSetItemSchema.safeParse({ ...item(0, 1, 1), packed: 'not base64!' }).success).toBe(false);
  });
});

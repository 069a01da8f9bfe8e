import * as z from 'zod';
import {
  BitReader,
  BitWriter,
  bitWidth,
  checkVmid,
  readFirstVmid,
  readNextVmid,
  readNodeName,
  writeNodeName,
  writeVmid,
} from './bit-io.ts';
import type { ClusterRuntime, NodeRuntime, RuntimeSample } from './runtime-stats.ts';

/**
 * The binary layout of a cluster's runtime stats (the `packed` attribute of a runtime set item, see
 * runtime-stats.ts). Format 1:
 *
 * ```
 * byte     format (1)
 * varint   node section count
 * per node section:
 *   varint   UTF-8 byte length of the node name, then the name
 *   varint   observed_at of the node's samples (epoch ms)
 *   varint   entry count
 *   byte     bit width of the CPU values, byte: bit width of the memory values (0–31)
 *   varint   first vmid (only when the count is not 0)
 *   bits     per entry, most significant bit first: for every entry but the first a gap flag
 *            (0: vmid = previous + 1; 1: a bit varint of vmid − previous − 2 follows, groups of
 *            a continuation bit and 7 value bits, lowest group first), then CPU and memory use
 *            in tenths of a percent with the widths above; padded with 0 bits to a whole byte
 * ```
 *
 * Varints are little-endian base-128 (7 value bits a byte, high bit set on all but the last byte).
 * The reference fleet's ~200 guests of a cluster take ~21 bits each: ~550 bytes, one write unit.
 * Decoding validates everything and throws {@link RuntimePackError} on any inconsistency.
 */

export const RUNTIME_PACK_FORMAT = 1;

/** A value must fit in 31 bits (tenths of a percent: far beyond any real use). */
const MAX_WIDTH = 31;

/** A packed runtime set that cannot be read (corrupt, truncated or of an unknown format). */
export class RuntimePackError extends Error {
  override readonly name = 'RuntimePackError';
}

/** A percentage (already rounded to 0.1) as the integer number of tenths stored. */
function tenths(percent: number): number {
  const value = Math.round(percent * 10);
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** MAX_WIDTH) {
    throw new RangeError(`runtime value out of range: ${String(percent)}`);
  }
  return value;
}

/** One node's samples as stored in one packed item (a node may span several items of a set). */
export interface PackedNodeSection {
  node: string;
  observed_at: number;
  /** vmid → sample, any order (encoded in vmid order) */
  stats: ReadonlyMap<number, RuntimeSample>;
}

/** Encodes node sections (samples rounded to 0.1 as the API shows them). */
export function encodeRuntimePack(sections: readonly PackedNodeSection[]): Uint8Array {
  const out = new BitWriter();
  out.byte(RUNTIME_PACK_FORMAT);
  out.varint(sections.length);
  const names = new Set<string>();
  for (const section of sections) {
    if (!Number.isSafeInteger(section.observed_at) || section.observed_at < 0) {
      throw new RangeError(`observed_at out of range: ${String(section.observed_at)}`);
    }
    writeNodeName(out, section.node, names);
    out.varint(section.observed_at);
    const vmids = [...section.stats.keys()].sort((a, b) => a - b);
    const entries = vmids.map((vmid) => {
      const sample = section.stats.get(vmid) as RuntimeSample;
      return { vmid: checkVmid(vmid), cpu: tenths(sample.cpu_usage), mem: tenths(sample.memory_usage) };
    });
    const cpuWidth = bitWidth(entries.reduce((max, e) => Math.max(max, e.cpu), 0));
    const memWidth = bitWidth(entries.reduce((max, e) => Math.max(max, e.mem), 0));
    out.varint(entries.length);
    out.byte(cpuWidth);
    out.byte(memWidth);
    let previous = -1;
    for (const [index, entry] of entries.entries()) {
      writeVmid(out, index, entry.vmid, previous);
      out.bits(entry.cpu, cpuWidth);
      out.bits(entry.mem, memWidth);
      previous = entry.vmid;
    }
    out.align();
  }
  return out.finish();
}

/** Decodes a packed item; throws {@link RuntimePackError} when it is not a valid format-1 pack. */
export function decodeRuntimePack(bytes: Uint8Array): PackedNodeSection[] {
  const input = new BitReader(bytes, (message) => new RuntimePackError(message));
  const format = input.byte();
  if (format !== RUNTIME_PACK_FORMAT) throw new RuntimePackError(`unknown runtime pack format ${format}`);
  const count = input.varint(4);
  const sections: PackedNodeSection[] = [];
  const names = new Set<string>();
  for (let index = 0; index < count; index++) {
    const node = readNodeName(input, names);
    const observedAt = input.varint(8);
    if (!Number.isSafeInteger(observedAt)) throw new RuntimePackError('observed_at out of range');
    const entries = input.varint(5);
    const cpuWidth = input.byte();
    const memWidth = input.byte();
    if (cpuWidth > MAX_WIDTH || memWidth > MAX_WIDTH) throw new RuntimePackError('value width out of range');
    const stats = new Map<number, RuntimeSample>();
    if (entries > 0) {
      let vmid = readFirstVmid(input, entries);
      for (let entry = 0; entry < entries; entry++) {
        if (entry > 0) vmid = readNextVmid(input, vmid);
        const cpu = input.bits(cpuWidth);
        const mem = input.bits(memWidth);
        stats.set(vmid, { cpu_usage: cpu / 10, memory_usage: mem / 10 });
      }
      input.align();
    }
    sections.push({ node, observed_at: observedAt, stats });
  }
  input.end();
  return sections;
}

/**
 * Splits a cluster's runtime into the packs of one set, at most `maxEntries` samples each, in node
 * then vmid order. Nodes without samples go in the first pack, so readers see they were observed.
 */
export function packClusterRuntime(runtime: ClusterRuntime, maxEntries: number): Uint8Array[] {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be ≥ 1');
  const packs: PackedNodeSection[][] = [[]];
  let room = maxEntries;
  const nodes = [...runtime.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const nodeRuntime of nodes) {
    const vmids = [...nodeRuntime.stats.keys()].sort((a, b) => a - b);
    if (vmids.length === 0) {
      packs[0]?.push({ node: nodeRuntime.node, observed_at: nodeRuntime.observed_at, stats: new Map() });
      continue;
    }
    for (let start = 0; start < vmids.length; ) {
      if (room === 0) {
        packs.push([]);
        room = maxEntries;
      }
      const part = vmids.slice(start, start + room);
      const stats = new Map(part.map((vmid) => [vmid, nodeRuntime.stats.get(vmid) as RuntimeSample]));
      packs.at(-1)?.push({ node: nodeRuntime.node, observed_at: nodeRuntime.observed_at, stats });
      start += part.length;
      room -= part.length;
    }
  }
  return packs.map((sections) => encodeRuntimePack(sections));
}

/** Merges the sections of a set's packs into per-node runtime (a node split across packs is joined). */
export function mergePackedSections(sections: readonly PackedNodeSection[]): ClusterRuntime {
  const result: ClusterRuntime = new Map();
  for (const section of sections) {
    const current: NodeRuntime = result.get(section.node) ?? {
      node: section.node,
      observed_at: section.observed_at,
      stats: new Map(),
    };
    for (const [vmid, sample] of section.stats) current.stats.set(vmid, sample);
    result.set(section.node, current);
  }
  return result;
}

/** Binary as the SDK returns it, or base64 text as a Lambda stream event carries it. */
const PackedBytesSchema = z.union([
  z.instanceof(Uint8Array),
  z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')
    .transform((text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))),
]);

/** One stored item of a cluster's runtime set (its samples still packed). */
export const RuntimeSetItemSchema = z.object({
  cluster_id: z.string().min(1),
  /** 0-based index of this chunk within the set */
  chunk: z.number().int().nonnegative(),
  /** how many chunks the set had when this chunk was written */
  chunk_count: z.number().int().positive(),
  /** the set's time (epoch ms; never shared by two sets of a cluster): tells leftovers apart */
  observed_at: z.number().int().nonnegative(),
  /** the samples, see {@link decodeRuntimePack} */
  packed: PackedBytesSchema,
});
export type RuntimeSetItem = z.infer<typeof RuntimeSetItemSchema>;

/** The chunks of a set's newest set: leftovers of an older, larger one are left out. */
export function newestSetChunks(items: readonly RuntimeSetItem[]): RuntimeSetItem[] {
  let newest: RuntimeSetItem | undefined;
  for (const item of items) if (!newest || item.observed_at > newest.observed_at) newest = item;
  if (newest === undefined) return [];
  const { observed_at, chunk_count } = newest;
  return items
    .filter((item) => item.observed_at === observed_at && item.chunk < chunk_count)
    .sort((a, b) => a.chunk - b.chunk);
}

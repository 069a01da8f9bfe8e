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
import type { HistoryValues } from './metrics-history.ts';

/**
 * The binary layout of one cluster's metrics history at one time bucket: every node's guests in one
 * item (the `p` attribute of a history item, see metrics-history.ts). DynamoDB bills each item by
 * the started kilobyte, so one full item per cluster costs less than one nearly empty item per node.
 * Format 1:
 *
 * ```
 * byte     format (1)
 * varint   node section count
 * per node section:
 *   varint   UTF-8 byte length of the node name, then the name
 *   varint   samples aggregated into the bucket
 *   varint   entry count
 *   4 bytes  bit widths (0–31) of: CPU average, memory average, CPU max − average, memory max − average
 *   varint   first vmid (only when the count is not 0)
 *   bits     per entry: for every entry but the first a gap flag (0: vmid = previous + 1; 1: a bit
 *            varint of vmid − previous − 2 follows), then the four values in tenths of a percent
 *            with the widths above; padded with 0 bits to a whole byte
 * ```
 *
 * The reference fleet's clusters (~200 guests, ~135 running) take ~5.5 bytes a running guest with
 * the maxima apart from the averages: ~760 bytes, one write unit with the keys.
 * Decoding validates everything and throws {@link HistoryPackError} on any inconsistency.
 */

export const HISTORY_PACK_FORMAT = 1;

const MAX_WIDTH = 31;

/** A packed history item that cannot be read (corrupt, truncated or of an unknown format). */
export class HistoryPackError extends Error {
  override readonly name = 'HistoryPackError';
}

/** One node's guests in a packed bucket. */
export interface HistoryPackSection {
  node: string;
  samples: number;
  guests: ReadonlyMap<number, HistoryValues>;
}

/** A section as decoded: its guests in a map of its own. */
export interface DecodedHistoryPackSection extends HistoryPackSection {
  guests: Map<number, HistoryValues>;
}

/** Tenths of a percent, as stored (a non-finite or negative value is stored as 0). */
function tenths(percent: number): number {
  const value = Number.isFinite(percent) && percent > 0 ? Math.round(percent * 10) : 0;
  if (value >= 2 ** MAX_WIDTH) throw new RangeError(`history value out of range: ${String(percent)}`);
  return value;
}

/** Encodes the node sections of one bucket (values rounded to tenths; a max below its average is raised to it). */
export function encodeHistoryPack(sections: readonly HistoryPackSection[]): Uint8Array {
  const out = new BitWriter();
  out.byte(HISTORY_PACK_FORMAT);
  out.varint(sections.length);
  const names = new Set<string>();
  for (const section of sections) {
    if (!Number.isSafeInteger(section.samples) || section.samples < 1) {
      throw new RangeError(`samples out of range: ${String(section.samples)}`);
    }
    writeNodeName(out, section.node, names);
    out.varint(section.samples);
    const entries = [...section.guests.keys()]
      .sort((a, b) => a - b)
      .map((vmid) => {
        checkVmid(vmid);
        const v = section.guests.get(vmid) as HistoryValues;
        const cpu = tenths(v.cpu_avg);
        const mem = tenths(v.mem_avg);
        return {
          vmid,
          values: [cpu, mem, Math.max(0, tenths(v.cpu_max) - cpu), Math.max(0, tenths(v.mem_max) - mem)],
        };
      });
    const widths = [0, 1, 2, 3].map((index) =>
      bitWidth(entries.reduce((max, entry) => Math.max(max, entry.values[index] ?? 0), 0)),
    );
    out.varint(entries.length);
    for (const width of widths) out.byte(width);
    let previous = -1;
    for (const [index, entry] of entries.entries()) {
      writeVmid(out, index, entry.vmid, previous);
      for (const [at, value] of entry.values.entries()) out.bits(value, widths[at] ?? 0);
      previous = entry.vmid;
    }
    out.align();
  }
  return out.finish();
}

/** Decodes a packed bucket; throws {@link HistoryPackError} when it is not a valid format-1 pack. */
export function decodeHistoryPack(bytes: Uint8Array): DecodedHistoryPackSection[] {
  const input = new BitReader(bytes, (message) => new HistoryPackError(message));
  const format = input.byte();
  if (format !== HISTORY_PACK_FORMAT) throw new HistoryPackError(`unknown history pack format ${format}`);
  const count = input.varint(4);
  const sections: DecodedHistoryPackSection[] = [];
  const names = new Set<string>();
  for (let index = 0; index < count; index++) {
    const node = readNodeName(input, names);
    const samples = input.varint(5);
    if (samples < 1) throw new HistoryPackError('samples out of range');
    const entries = input.varint(5);
    const widths = [input.byte(), input.byte(), input.byte(), input.byte()];
    if (widths.some((width) => width > MAX_WIDTH)) throw new HistoryPackError('value width out of range');
    const [cpuWidth, memWidth, cpuMaxWidth, memMaxWidth] = widths as [number, number, number, number];
    const guests = new Map<number, HistoryValues>();
    if (entries > 0) {
      let vmid = readFirstVmid(input, entries);
      for (let entry = 0; entry < entries; entry++) {
        if (entry > 0) vmid = readNextVmid(input, vmid);
        const cpu = input.bits(cpuWidth);
        const mem = input.bits(memWidth);
        const cpuMax = cpu + input.bits(cpuMaxWidth);
        const memMax = mem + input.bits(memMaxWidth);
        guests.set(vmid, {
          cpu_avg: cpu / 10,
          mem_avg: mem / 10,
          cpu_max: cpuMax / 10,
          mem_max: memMax / 10,
        });
      }
      input.align();
    }
    sections.push({ node, samples, guests });
  }
  input.end();
  return sections;
}

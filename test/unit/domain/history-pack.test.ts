import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHistoryPack,
  encodeHistoryPack,
  HistoryPackError,
  type HistoryPackSection,
} from '#shared/domain/history-pack.ts';
import {
  decodeHistoryGuests,
  encodeHistoryGuests,
  type HistoryValues,
} from '#shared/domain/metrics-history.ts';

const percent = fc.double({ min: 0, max: 150, noNaN: true });
const values = fc.record({ cpu_avg: percent, cpu_max: percent, mem_avg: percent, mem_max: percent });
const section = fc.record({
  node: fc.oneof(fc.constantFrom('pve1', 'pve-02', 'ñode'), fc.string({ minLength: 1, maxLength: 20 })),
  samples: fc.integer({ min: 1, max: 30 }),
  guests: fc
    .uniqueArray(fc.integer({ min: 100, max: 999_999_999 }), { maxLength: 60 })
    .chain((vmids) =>
      fc
        .array(values, { minLength: vmids.length, maxLength: vmids.length })
        .map((all) => new Map(vmids.map((vmid, i) => [vmid, all[i] as HistoryValues]))),
    ),
});
const sections = fc.uniqueArray(section, { maxLength: 5, selector: (s) => s.node });

describe('packed metrics history', () => {
  it('reads back what the earlier string format kept, for any nodes and values', () => {
    fc.assert(
      fc.property(sections, (input) => {
        const decoded = decodeHistoryPack(encodeHistoryPack(input));
        expect(decoded.map((s) => [s.node, s.samples])).toEqual(input.map((s) => [s.node, s.samples]));
        for (const [index, original] of input.entries()) {
          // The same tenths and the same rule (a max below its average is the average).
          expect(decoded[index]?.guests).toEqual(decodeHistoryGuests(encodeHistoryGuests(original.guests)));
        }
      }),
    );
  });

  it('fits a busy 200-guest cluster of three nodes in one write unit, with maxima apart from the averages', () => {
    const input: HistoryPackSection[] = ['pve1', 'pve2', 'pve3'].map((node, n) => ({
      node,
      samples: 2,
      guests: new Map(
        Array.from({ length: 67 }, (_, i) => {
          const cpu = ((i * 37 + n * 11) % 1000) / 10;
          const mem = ((i * 53 + n * 7) % 1000) / 10;
          return [100 + n * 67 + i, { cpu_avg: cpu, cpu_max: cpu + 4.2, mem_avg: mem, mem_max: mem + 1.3 }];
        }),
      ),
    }));
    const bytes = encodeHistoryPack(input);
    // ~4.5 bytes a guest; with its keys and TTL the item stays under 1,024 bytes
    expect(bytes.length).toBeLessThan(1024 - 150);
    expect(bytes.length).toBeLessThan(encodeHistoryGuests(input[0]?.guests ?? new Map()).length * 3);
  });

  it('refuses corrupt, truncated or unknown packs with a HistoryPackError', () => {
    const good = encodeHistoryPack([
      {
        node: 'pve1',
        samples: 2,
        guests: new Map([[101, { cpu_avg: 1, cpu_max: 2, mem_avg: 3, mem_max: 3 }]]),
      },
    ]);
    const bad: Array<[Uint8Array, RegExp]> = [
      [Uint8Array.from([2, 0]), /unknown history pack format 2/],
      [good.subarray(0, good.length - 1), /truncated/],
      [Uint8Array.from([...good, 0]), /trailing bytes/],
      // format, 2 sections: name "a", 1 sample, 0 entries, 4 widths; twice
      [Uint8Array.from([1, 2, 1, 0x61, 1, 0, 0, 0, 0, 0, 1, 0x61, 1, 0, 0, 0, 0, 0]), /repeated/],
      [Uint8Array.from([1, 1, 1, 0x61, 0, 0, 0, 0, 0, 0]), /samples out of range/],
      [Uint8Array.from([1, 1, 1, 0x61, 1, 1, 40, 0, 0, 0, 101]), /width out of range/],
    ];
    for (const [bytes, reason] of bad) {
      expect(() => decodeHistoryPack(bytes)).toThrow(HistoryPackError);
      expect(() => decodeHistoryPack(bytes)).toThrow(reason);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeHistoryPack(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(HistoryPackError);
        }
      }),
    );
  });

  it('refuses to write what it could not read back', () => {
    const one: HistoryValues = { cpu_avg: 1, cpu_max: 1, mem_avg: 1, mem_max: 1 };
    const guests = new Map([[101, one]]);
    expect(() => encodeHistoryPack([{ node: '', samples: 1, guests }])).toThrow(RangeError);
    expect(() =>
      encodeHistoryPack([
        { node: 'a', samples: 1, guests },
        { node: 'a', samples: 1, guests },
      ]),
    ).toThrow(RangeError);
    expect(() => encodeHistoryPack([{ node: 'a', samples: 0, guests }])).toThrow(RangeError);
    expect(() => encodeHistoryPack([{ node: 'a', samples: 1, guests: new Map([[-1, one]]) }])).toThrow(
      RangeError,
    );
  });
});

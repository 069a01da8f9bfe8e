import { describe, expect, it } from 'vitest';
import {
  aggregateQuarter,
  bucketStart,
  decodeHistoryGuests,
  encodeHistoryGuests,
  HISTORY_GUESTS_PATTERN,
  type HistoryBucket,
  minuteBuckets,
  readVmHistory,
  vmSeries,
} from '#shared/domain/metrics-history.ts';

const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);
const minute = (n: number) => T0 + n * 60_000;

function bucket(
  node: string,
  t: number,
  guests: [number, number, number, number?, number?][],
): HistoryBucket {
  return {
    cluster_id: 'c1',
    node,
    resolution: '1m',
    t,
    samples: 1,
    guests: new Map(
      guests.map(([vmid, cpu, mem, cpuMax, memMax]) => [
        vmid,
        { cpu_avg: cpu, mem_avg: mem, cpu_max: cpuMax ?? cpu, mem_max: memMax ?? mem },
      ]),
    ),
  };
}

describe('metrics history encoding', () => {
  it('stores a guest in tenths of a percent and leaves the maxima out when they equal the averages', () => {
    const encoded = encodeHistoryGuests(
      new Map([
        [102, { cpu_avg: 12.34, cpu_max: 20, mem_avg: 40.25, mem_max: 40.25 }],
        [101, { cpu_avg: 1.5, cpu_max: 1.5, mem_avg: 33, mem_max: 33 }],
      ]),
    );
    expect(encoded).toBe('101:15:330,102:123:403:200:403');
    expect(HISTORY_GUESTS_PATTERN.test(encoded)).toBe(true);
    expect(decodeHistoryGuests(encoded)).toEqual(
      new Map([
        [101, { cpu_avg: 1.5, cpu_max: 1.5, mem_avg: 33, mem_max: 33 }],
        [102, { cpu_avg: 12.3, cpu_max: 20, mem_avg: 40.3, mem_max: 40.3 }],
      ]),
    );
  });

  it('encodes an empty node as an empty string and rejects malformed strings', () => {
    expect(encodeHistoryGuests(new Map())).toBe('');
    expect(decodeHistoryGuests('').size).toBe(0);
    expect(HISTORY_GUESTS_PATTERN.test('101:1')).toBe(false);
    expect(HISTORY_GUESTS_PATTERN.test('101:1:2,')).toBe(false);
    expect(HISTORY_GUESTS_PATTERN.test('101:-1:2')).toBe(false);
  });

  it('keeps at most 13 bytes per guest, so a node of 65 busy guests still fits one 1 KB write unit with its keys', () => {
    const guests = new Map(
      Array.from({ length: 65 }, (_, i) => [
        1000 + i,
        { cpu_avg: 55.5, cpu_max: 55.5, mem_avg: 66.6, mem_max: 66.6 },
      ]),
    );
    expect(encodeHistoryGuests(guests).length).toBeLessThanOrEqual(65 * 13);
  });
});

describe('minute buckets', () => {
  it('puts each node in its own bucket at the minute start, averaging with the previous pass', () => {
    const buckets = minuteBuckets(
      'c1',
      minute(3) + 12_000,
      [
        { vmid: 101, node: 'n1', cpu: 10, mem: 50 },
        { vmid: 102, node: 'n2', cpu: 4, mem: 20 },
      ],
      new Map([[101, { cpu: 30, mem: 40 }]]),
    );
    expect(buckets).toEqual([
      {
        cluster_id: 'c1',
        node: 'n1',
        resolution: '1m',
        t: minute(3),
        samples: 2,
        guests: new Map([[101, { cpu_avg: 20, cpu_max: 30, mem_avg: 45, mem_max: 50 }]]),
      },
      {
        cluster_id: 'c1',
        node: 'n2',
        resolution: '1m',
        t: minute(3),
        samples: 1,
        guests: new Map([[102, { cpu_avg: 4, cpu_max: 4, mem_avg: 20, mem_max: 20 }]]),
      },
    ]);
  });
});

describe('quarter aggregates', () => {
  it('averages the minute averages and keeps the highest maximum, per node, within the quarter only', () => {
    const quarter = bucketStart(minute(5), '15m');
    const result = aggregateQuarter(
      [
        bucket('n1', minute(0), [[101, 10, 50, 30, 60]]),
        bucket('n1', minute(1), [
          [101, 20, 40],
          [102, 1, 1],
        ]),
        bucket('n1', minute(15), [[101, 99, 99]]),
        bucket('n2', minute(2), [[103, 5, 5]]),
      ],
      quarter,
    );
    expect(result).toEqual([
      {
        cluster_id: 'c1',
        node: 'n1',
        resolution: '15m',
        t: quarter,
        samples: 2,
        guests: new Map([
          [101, { cpu_avg: 15, cpu_max: 30, mem_avg: 45, mem_max: 60 }],
          [102, { cpu_avg: 1, cpu_max: 1, mem_avg: 1, mem_max: 1 }],
        ]),
      },
      {
        cluster_id: 'c1',
        node: 'n2',
        resolution: '15m',
        t: quarter,
        samples: 1,
        guests: new Map([[103, { cpu_avg: 5, cpu_max: 5, mem_avg: 5, mem_max: 5 }]]),
      },
    ]);
  });
});

describe('readVmHistory (the reader port)', () => {
  const buckets = [
    bucket('n2', minute(2), [[101, 7, 70]]),
    bucket('n1', minute(0), [
      [101, 1, 10],
      [102, 9, 9],
    ]),
    bucket('n1', minute(1), [[101, 2, 20]]),
    bucket('n1', minute(2), [[101, 3, 30]]),
  ];
  const source = {
    queried: [] as unknown[],
    async queryBuckets(clusterId: string, resolution: '1m' | '15m', from: number, to: number) {
      this.queried.push({ clusterId, resolution, from, to });
      return buckets.filter((b) => b.t >= from && b.t <= to);
    },
  };

  it('finds a VM on whichever node it ran (a migration mid-minute shows once, merged), oldest first', async () => {
    const samples = await readVmHistory(source, {
      cluster: 'c1',
      vmid: 101,
      from: minute(0),
      to: minute(2),
      resolution: '1m',
    });
    expect(samples).toEqual([
      { t: minute(0), cpu_avg: 1, cpu_max: 1, mem_avg: 10, mem_max: 10 },
      { t: minute(1), cpu_avg: 2, cpu_max: 2, mem_avg: 20, mem_max: 20 },
      { t: minute(2), cpu_avg: 5, cpu_max: 7, mem_avg: 50, mem_max: 70 },
    ]);
    expect(source.queried.at(-1)).toEqual({
      clusterId: 'c1',
      resolution: '1m',
      from: minute(0),
      to: minute(2),
    });
  });

  it('limits to one node when asked, and to the range', async () => {
    const samples = await readVmHistory(source, {
      cluster: 'c1',
      vmid: 101,
      node: 'n2',
      from: minute(1),
      to: minute(5),
      resolution: '1m',
    });
    expect(samples).toEqual([{ t: minute(2), cpu_avg: 7, cpu_max: 7, mem_avg: 70, mem_max: 70 }]);
    expect(vmSeries(buckets, 999)).toEqual([]);
  });

  it('answers an inverted range with no samples and no read', async () => {
    const before = source.queried.length;
    expect(
      await readVmHistory(source, {
        cluster: 'c1',
        vmid: 101,
        from: minute(5),
        to: minute(1),
        resolution: '1m',
      }),
    ).toEqual([]);
    expect(source.queried.length).toBe(before);
  });
});

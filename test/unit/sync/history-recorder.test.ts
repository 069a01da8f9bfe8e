import { describe, expect, it } from 'vitest';
import type { HistoryBucket, HistoryResolution } from '#shared/domain/metrics-history.ts';
import type { ClusterRuntime } from '#shared/domain/runtime-stats.ts';
import type { GuestResource } from '#shared/proxmox/schemas.ts';
import type { MetricsHistoryRepository, WriteReport } from '#shared/store/ports.ts';
import { recordQuickPassHistory } from '#shared/sync/history-recorder.ts';

const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

/** An in-memory history store (the DynamoDB adapter is tested on DynamoDB Local). */
class MemoryHistory implements MetricsHistoryRepository {
  readonly items = new Map<string, HistoryBucket>();
  puts = 0;
  queries = 0;
  async putBuckets(buckets: readonly HistoryBucket[]): Promise<WriteReport> {
    for (const b of buckets) this.items.set(`${b.resolution}#${b.t}#${b.node}`, b);
    this.puts += buckets.length;
    return { writes: buckets.length, capacityUnits: buckets.length };
  }
  async queryBuckets(_c: string, resolution: HistoryResolution, from: number, to: number) {
    this.queries++;
    return [...this.items.values()].filter((b) => b.resolution === resolution && b.t >= from && b.t <= to);
  }
}

function guest(
  vmid: number,
  node: string,
  cpu: number,
  memPercent: number,
  status = 'running',
): GuestResource {
  return {
    id: `qemu/${vmid}`,
    type: 'qemu',
    vmid,
    node,
    status,
    name: `vm${vmid}`,
    cpu: cpu / 100,
    mem: memPercent * 10,
    maxmem: 1000,
  } as GuestResource;
}

const noRuntime: ClusterRuntime = new Map();

describe('recordQuickPassHistory', () => {
  it('puts one bucket per node on the first pass of a minute and nothing on a later pass of that minute', async () => {
    const history = new MemoryHistory();
    const guests = [guest(101, 'n1', 10, 50), guest(102, 'n2', 20, 60), guest(103, 'n2', 0, 0, 'stopped')];
    const first = await recordQuickPassHistory(history, {
      clusterId: 'c1',
      observedAt: T0 + 5_000,
      previousPassAt: T0 - 25_000,
      guests,
      previousRuntime: noRuntime,
    });
    expect(first).toEqual({ minute: 2, quarter: 0 });
    expect([...history.items.keys()].sort()).toEqual([`1m#${T0}#n1`, `1m#${T0}#n2`]);
    expect(history.items.get(`1m#${T0}#n2`)?.guests.has(103)).toBe(false);

    const second = await recordQuickPassHistory(history, {
      clusterId: 'c1',
      observedAt: T0 + 35_000,
      previousPassAt: T0 + 5_000,
      guests,
      previousRuntime: noRuntime,
    });
    expect(second).toEqual({ minute: 0, quarter: 0 });
    expect(history.puts).toBe(2);
  });

  it('averages with the previous pass when it was less than a minute ago, and not when it was older', async () => {
    const history = new MemoryHistory();
    const previousRuntime: ClusterRuntime = new Map([
      [
        'n1',
        {
          node: 'n1',
          observed_at: T0 - 20_000,
          chunk_count: 1,
          stats: new Map([[101, { cpu_usage: 30, memory_usage: 40 }]]),
        },
      ],
    ]);
    await recordQuickPassHistory(history, {
      clusterId: 'c1',
      observedAt: T0 + 5_000,
      previousPassAt: T0 - 25_000,
      guests: [guest(101, 'n1', 10, 50)],
      previousRuntime,
    });
    expect(history.items.get(`1m#${T0}#n1`)?.guests.get(101)).toEqual({
      cpu_avg: 20,
      cpu_max: 30,
      mem_avg: 45,
      mem_max: 50,
    });
    await recordQuickPassHistory(history, {
      clusterId: 'c1',
      observedAt: T0 + 185_000,
      previousPassAt: T0 + 5_000,
      guests: [guest(101, 'n1', 10, 50)],
      previousRuntime,
    });
    expect(history.items.get(`1m#${T0 + 180_000}#n1`)?.guests.get(101)).toEqual({
      cpu_avg: 10,
      cpu_max: 10,
      mem_avg: 50,
      mem_max: 50,
    });
  });

  it('aggregates the previous quarter once, on the first pass of the next quarter', async () => {
    const history = new MemoryHistory();
    let previousPassAt: number | null = null;
    let quarters = 0;
    // Passes every 30 s for 16 minutes: the 15 minutes of the first quarter, then into the second.
    for (let at = T0 + 1_000; at < T0 + 16 * 60_000; at += 30_000) {
      const cpu = at < T0 + 60_000 ? 90 : 10;
      const written = await recordQuickPassHistory(history, {
        clusterId: 'c1',
        observedAt: at,
        previousPassAt,
        guests: [guest(101, 'n1', cpu, 50)],
        previousRuntime: noRuntime,
      });
      quarters += written.quarter;
      previousPassAt = at;
    }
    expect(quarters).toBe(1);
    const quarter = history.items.get(`15m#${T0}#n1`);
    expect(quarter?.samples).toBe(15);
    expect(quarter?.guests.get(101)).toEqual({
      cpu_avg: (90 + 14 * 10) / 15,
      cpu_max: 90,
      mem_avg: 50,
      mem_max: 50,
    });
  });

  it('does not aggregate a quarter whose minutes have expired (a pass after a long outage)', async () => {
    const history = new MemoryHistory();
    const written = await recordQuickPassHistory(history, {
      clusterId: 'c1',
      observedAt: T0 + 30 * 3600_000,
      previousPassAt: T0,
      guests: [guest(101, 'n1', 10, 50)],
      previousRuntime: noRuntime,
    });
    expect(written).toEqual({ minute: 1, quarter: 0 });
    expect(history.queries).toBe(0);
  });
});

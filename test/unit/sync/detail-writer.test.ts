import { describe, expect, it } from 'vitest';
import type { GuardedWriteResult, VmChange } from '#shared/store/ports.ts';
import { DetailWriter } from '#shared/sync/detail-writer.ts';

const change = (vmid: number): VmChange => ({
  key: { cluster_id: 'lab-a', vmid },
  observedAt: 1,
  set: { cores: 2 },
});

function writerWith(applyChanges: (batch: readonly VmChange[]) => Promise<GuardedWriteResult>) {
  const clock = { t: 0 };
  const batches: number[][] = [];
  const progress: number[] = [];
  const errors: unknown[] = [];
  const writer = new DetailWriter({
    inventory: {
      applyChanges: async (batch) => {
        batches.push(batch.map((c) => c.key.vmid));
        return applyChanges(batch);
      },
    },
    flushSize: 3,
    flushIntervalMs: 1_000,
    now: () => clock.t,
    onWritten: () => {},
    onFlushed: async (done) => {
      progress.push(done);
    },
    onError: (error) => errors.push(error),
  });
  return { writer, clock, batches, progress, errors };
}

const applied = async (batch: readonly VmChange[]): Promise<GuardedWriteResult> => ({
  writes: batch.length,
  capacityUnits: batch.length,
  applied: batch.map((c) => c.key),
  rejected: [],
});

describe('DetailWriter', () => {
  it('writes a batch once it is full, and what is left at the end', async () => {
    const { writer, batches, progress } = writerWith(applied);
    for (let i = 1; i <= 4; i += 1) {
      writer.add(change(100 + i), i);
      await writer.flushIfDue();
    }
    expect(batches).toEqual([[101, 102, 103]]);
    expect(writer.durableDone).toBe(3);
    await writer.close();
    expect(batches).toEqual([[101, 102, 103], [104]]);
    expect(progress).toEqual([3, 4]);
  });

  it('writes after the interval even when the batch is not full, counting guests with nothing to write', async () => {
    const { writer, clock, batches } = writerWith(applied);
    writer.add(change(101), 1);
    writer.progress(2);
    await writer.flushIfDue();
    expect(batches).toEqual([]);
    clock.t += 1_000;
    await writer.flushIfDue();
    expect(batches).toEqual([[101]]);
    expect(writer.durableDone).toBe(2);
  });

  it('keeps going when a batch cannot be written, and does not count it as done', async () => {
    let calls = 0;
    const { writer, errors } = writerWith(async (batch) => {
      calls += 1;
      if (calls === 1) throw new Error('ProvisionedThroughputExceededException: slow down');
      return applied(batch);
    });
    for (let i = 1; i <= 6; i += 1) {
      writer.add(change(100 + i), i);
      await writer.flushIfDue();
    }
    await writer.close();
    expect(errors).toHaveLength(1);
    expect(writer.unwritten).toBe(3);
    expect(writer.durableDone).toBe(3);
    expect(writer.firstError).toContain('slow down');
  });
});

import { describe, expect, it } from 'vitest';
import { runPerNode } from '#shared/sync/node-queues.ts';

/** Items whose VMIDs are contiguous per node, as on a cluster filled node by node. */
const contiguous = (perNode: number, nodes: string[]) =>
  nodes.flatMap((node, n) =>
    Array.from({ length: perNode }, (_, i) => ({ vmid: 100 + n * perNode + i, node })),
  );

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runPerNode', () => {
  it('keeps every node busy at once even when the VMIDs come node by node', async () => {
    const items = contiguous(6, ['a', 'b', 'c']);
    const active = new Map<string, number>();
    let peakNodesBusy = 0;
    let peakPerNode = 0;
    await runPerNode(items, { nodeOf: (i) => i.node, perNode: 3, total: 48 }, async (item) => {
      active.set(item.node, (active.get(item.node) ?? 0) + 1);
      peakNodesBusy = Math.max(peakNodesBusy, [...active.values()].filter((n) => n > 0).length);
      peakPerNode = Math.max(peakPerNode, ...active.values());
      await tick();
      active.set(item.node, (active.get(item.node) ?? 0) - 1);
    });
    expect(peakNodesBusy).toBe(3);
    expect(peakPerNode).toBe(3);
  });

  it('keeps each node in the given order and bounds the total', async () => {
    const items = contiguous(4, ['a', 'b']);
    const order: number[] = [];
    let inFlight = 0;
    let peak = 0;
    await runPerNode(items, { nodeOf: (i) => i.node, perNode: 1, total: 1 }, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      order.push(item.vmid);
      await tick();
      inFlight -= 1;
    });
    expect(peak).toBe(1);
    expect(order.filter((v) => v < 104)).toEqual([100, 101, 102, 103]);
    expect(order.filter((v) => v >= 104)).toEqual([104, 105, 106, 107]);
  });

  it('starts nothing more once told to stop, and says how many were left', async () => {
    const items = contiguous(10, ['a', 'b']);
    let started = 0;
    const outcome = await runPerNode(
      items,
      { nodeOf: (i) => i.node, perNode: 2, total: 4, mayStart: () => started < 5 },
      async () => {
        started += 1;
        await tick();
      },
    );
    expect(outcome.started).toBe(5);
    expect(outcome.notStarted).toBe(15);
  });
});

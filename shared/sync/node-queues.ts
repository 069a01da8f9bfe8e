/**
 * Per-node work queues: a full sync's per-guest calls go to the guest's node, whose API daemons
 * serve 3 requests at once. One queue per node, each with as many workers as the node has slots,
 * keeps every node busy at the same time, whatever the order of the VMIDs (a cluster with
 * contiguous VMID ranges per node would otherwise queue every worker behind one node).
 */

/** Options of {@link runPerNode}. */
export interface PerNodeOptions<T> {
  nodeOf(item: T): string;
  /** workers per node (the node's in-flight limit) */
  perNode: number;
  /** workers over all nodes together */
  total: number;
  /** asked before each item starts; `false` stops every queue (the run's time is up) */
  mayStart?(): boolean;
}

/** What {@link runPerNode} did: items started (each finished, or failed through `fn`). */
export interface PerNodeOutcome {
  started: number;
  notStarted: number;
}

/** A FIFO counting semaphore. */
export class Limiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active -= 1;
  }
}

/**
 * Runs `fn` for every item, per node in the items' order, at most `perNode` per node and `total`
 * overall at once. Items are not started once `mayStart` says no; `fn`'s rejections propagate.
 */
export async function runPerNode<T>(
  items: readonly T[],
  options: PerNodeOptions<T>,
  fn: (item: T) => Promise<void>,
): Promise<PerNodeOutcome> {
  const queues = new Map<string, T[]>();
  for (const item of items) {
    const node = options.nodeOf(item);
    let queue = queues.get(node);
    if (!queue) {
      queue = [];
      queues.set(node, queue);
    }
    queue.push(item);
  }
  const overall = new Limiter(Math.max(1, options.total));
  const perNode = Math.max(1, options.perNode);
  let started = 0;
  const worker = async (queue: T[]): Promise<void> => {
    for (;;) {
      await overall.acquire();
      try {
        if (options.mayStart && !options.mayStart()) return;
        const item = queue.shift();
        if (item === undefined) return;
        started += 1;
        await fn(item);
      } finally {
        overall.release();
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (const queue of queues.values()) {
    for (let i = 0; i < Math.min(perNode, queue.length); i += 1) workers.push(worker(queue));
  }
  await Promise.all(workers);
  return { started, notStarted: items.length - started };
}

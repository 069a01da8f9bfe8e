/** A counting semaphore standing for a node's 3 pvedaemon workers. */
export class WorkerPool {
  private busy = 0;
  private highest = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Runs `task` once a worker is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    this.highest = Math.max(this.highest, this.busy + this.waiting.length + 1);
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy++;
    try {
      return await task();
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }

  /** Calls in progress. */
  get inFlight(): number {
    return this.busy;
  }

  /**
   * Most calls at the node at once (served or waiting for a worker) since the pool was created or
   * {@link resetPeak} was called.
   */
  get peak(): number {
    return this.highest;
  }

  resetPeak(): void {
    this.highest = this.busy + this.waiting.length;
  }

  /** Calls waiting for a worker. */
  get queued(): number {
    return this.waiting.length;
  }
}

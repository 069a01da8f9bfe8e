import type { GuardedWriteResult, InventoryRepository, VmChange } from '#shared/store/ports.ts';
import { toSyncError } from './sync-error.ts';

/**
 * Buffers the per-guest changes of a full sync and writes them in batches as they fill (or after
 * an interval), one batch at a time, so a run that stops early keeps everything written before.
 * A batch that cannot be written is counted and reported, and the run goes on (those guests are
 * read again by the next run).
 */

/** Options of {@link DetailWriter}. */
export interface DetailWriterOptions {
  inventory: Pick<InventoryRepository, 'applyChanges'>;
  flushSize: number;
  flushIntervalMs: number;
  now(): number;
  /** A batch was written (guarded writes: some may be refused). */
  onWritten(result: GuardedWriteResult, batch: readonly VmChange[]): void;
  /** After each flush: guests done so far, all of them stored. */
  onFlushed(durableDone: number): Promise<void>;
  onError(error: unknown, batch: readonly VmChange[]): void;
}

export class DetailWriter {
  private buffer: VmChange[] = [];
  private latestDone = 0;
  private flushedDone = 0;
  private lastFlushAt: number;
  private chain: Promise<void> = Promise.resolve();
  /** Guests done whose results are stored (or needed no write). */
  durableDone = 0;
  /** Guests whose changes could not be written. */
  unwritten = 0;
  firstError: string | null = null;

  constructor(private readonly options: DetailWriterOptions) {
    this.lastFlushAt = options.now();
  }

  /** Queues a guest's change; `doneCount` is the number of guests done with this one. */
  add(change: VmChange, doneCount: number): void {
    this.buffer.push(change);
    this.latestDone = Math.max(this.latestDone, doneCount);
  }

  /** A guest is done without anything to write. */
  progress(doneCount: number): void {
    this.latestDone = Math.max(this.latestDone, doneCount);
  }

  /** Writes the buffer if it is full or has waited long enough. */
  async flushIfDue(): Promise<void> {
    const due =
      this.buffer.length >= this.options.flushSize ||
      this.options.now() - this.lastFlushAt >= this.options.flushIntervalMs;
    if (due) await this.enqueueFlush();
  }

  /** Writes what is left. */
  async close(): Promise<void> {
    await this.enqueueFlush();
  }

  private enqueueFlush(): Promise<void> {
    this.chain = this.chain.then(() => this.flush());
    return this.chain;
  }

  private async flush(): Promise<void> {
    const batch = this.buffer;
    const doneAt = this.latestDone;
    if (batch.length === 0 && doneAt === this.flushedDone) return;
    this.buffer = [];
    this.lastFlushAt = this.options.now();
    let failed = 0;
    if (batch.length > 0) {
      try {
        this.options.onWritten(await this.options.inventory.applyChanges(batch), batch);
      } catch (error) {
        failed = batch.length;
        this.unwritten += batch.length;
        this.firstError ??= toSyncError(error);
        this.options.onError(error, batch);
      }
    }
    this.durableDone += doneAt - this.flushedDone - failed;
    this.flushedDone = doneAt;
    await this.options.onFlushed(this.durableDone);
  }
}

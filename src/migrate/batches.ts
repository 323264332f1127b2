import type { FolderWriter, StagedMessage } from "../maildir/delivery.js";
import type { Journal, MessageRow } from "./journal.js";

export interface BatchLimits {
  /** Messages per batch. */
  messages: number;
  /** Bytes per batch. */
  bytes: number;
  /** Whole-message writes on the thread pool at once, and their bytes. */
  writesInFlight: number;
  bytesInFlight: number;
}

export const DEFAULT_LIMITS: BatchLimits = { messages: 1000, bytes: 64 * 1024 * 1024, writesInFlight: 64, bytesInFlight: 32 * 1024 * 1024 };

/**
 * How staged messages become visible, in order and exactly once:
 *   written to tmp/ (some on the thread pool) → a batch is cut → its files are flushed while
 *   the next batch is written → journaled as pending → linked into new/ or cur/ → marked done.
 * The journal never names a file that is not on disk, and no file is visible before it is.
 */
export class Batches {
  private staged: StagedMessage[] = [];
  private rows: MessageRow[] = [];
  private stagedBytes = 0;
  private writes: Promise<void>[] = [];
  private bytesInFlight = 0;
  private inFlight: { staged: StagedMessage[]; rows: MessageRow[]; flushed: Promise<void> } | null = null;

  constructor(
    private readonly writer: FolderWriter,
    private readonly journal: Journal,
    private readonly sourceId: number,
    /** Runs before each batch becomes visible (the keywords file must exist first). */
    private readonly beforePublish: () => void,
    private readonly limits: BatchLimits = DEFAULT_LIMITS,
  ) {}

  /** Waits until another whole-message write may start. */
  async roomForWrite(): Promise<void> {
    while (this.writes.length >= this.limits.writesInFlight || this.bytesInFlight > this.limits.bytesInFlight) await this.settleOldestWrite();
  }

  /** Tracks a write running on the thread pool; its failure fails the batch. */
  trackWrite(write: Promise<void>, bytes: number): void {
    const tracked = write.then(() => {
      this.bytesInFlight -= bytes;
    });
    tracked.catch(() => undefined);
    this.writes.push(tracked);
    this.bytesInFlight += bytes;
  }

  /** Adds a message whose tmp/ file is written (or being written); cuts a batch when full. */
  async add(staged: StagedMessage, row: MessageRow): Promise<void> {
    this.staged.push(staged);
    this.rows.push(row);
    this.stagedBytes += row.size;
    if (this.staged.length >= this.limits.messages || this.stagedBytes >= this.limits.bytes) await this.cut();
  }

  /** Makes everything added visible. */
  async finish(): Promise<void> {
    await this.cut();
    await this.publishInFlight();
  }

  private async settleOldestWrite(): Promise<void> {
    const oldest = this.writes.shift();
    await oldest;
  }

  private async cut(): Promise<void> {
    if (this.staged.length === 0) return;
    while (this.writes.length > 0) await this.settleOldestWrite();
    await this.publishInFlight();
    const flushed = this.writer.flush(this.staged);
    flushed.catch(() => undefined);
    this.inFlight = { staged: this.staged, rows: this.rows, flushed };
    this.staged = [];
    this.rows = [];
    this.stagedBytes = 0;
  }

  private async publishInFlight(): Promise<void> {
    if (!this.inFlight) return;
    const batch = this.inFlight;
    this.inFlight = null;
    await batch.flushed;
    this.beforePublish();
    this.journal.recordPending(this.sourceId, batch.rows);
    this.writer.publish(batch.staged);
    this.journal.markDone(this.sourceId, batch.rows[0].seq, batch.rows[batch.rows.length - 1].seq);
  }
}

import type { FolderWriter, StagedMessage, WholeMessage } from "../maildir/delivery.js";
import type { Journal, MessageRow, SourceIdentity } from "./journal.js";
import type { WriteProgress } from "./reused-windows.js";

export interface BatchLimits {
  /** Messages per batch. */
  messages: number;
  /** Bytes per batch. */
  bytes: number;
  /**
   * Bytes of extras per batch: the header blocks the index feed holds for each message until
   * its batch is published and indexed (see index/feed-memory.ts), several batches at a time.
   */
  extraBytes: number;
  /** Whole messages per write job on the thread pool, and their bytes. */
  groupMessages: number;
  groupBytes: number;
  /** Write jobs on the thread pool at once, and the bytes they hold. */
  writesInFlight: number;
  bytesInFlight: number;
  /**
   * Where the source ends (its size): as it nears, a batch is cut once it holds as many bytes
   * as are left after it (but not below tailMessages), so the last batches halve. What is
   * left to flush, publish and index after the last message is read is then small, instead
   * of up to a whole batch (1,000 messages: ~30 ms of a 1.5 s migration, spent on one core).
   */
  sourceEnd?: number;
  tailMessages: number;
}

/**
 * Sources with at least this much left to read get BatchLimits.sourceEnd: smaller ones are a
 * batch or a few, which halving would only multiply.
 */
export const TAIL_CUT_MIN_BYTES = 32 * 1024 * 1024;

export const DEFAULT_LIMITS: BatchLimits = {
  // 2,000 (two flushes and a journal commit half as often) measured 4% faster on disk, but
  // the index feed then held ~15 MB more: peak RSS 219 MB against 204 on the bench mbox.
  messages: 1000,
  bytes: 64 * 1024 * 1024,
  // A thousand headers of up to 4 KB fit; messages with huge headers (up to the 64 KB the
  // index reads of one) make smaller batches instead. 3,000 messages with 60 KB headers
  // peaked at 367 MB with batches of a thousand, 205-272 MB with 8 MB of headers a batch,
  // 163-182 MB with 4 MB (178 MB with --no-index, whose batches stay a thousand).
  extraBytes: 4 * 1024 * 1024,
  groupMessages: 32,
  groupBytes: 2 * 1024 * 1024,
  writesInFlight: 8,
  bytesInFlight: 32 * 1024 * 1024,
  tailMessages: 64,
};

/**
 * How staged messages become visible, in order and exactly once:
 *   written and staged (whole messages in groups on the thread pool) → a batch is cut → its
 *   files are flushed → journaled as pending → moved into new/ or cur/ → marked done (with
 *   the next batch's pending record).
 * A batch's flush runs while the batch before it is journaled and published and the next is
 * being written; a batch is published only after the one before it. The journal never names
 * a file that is not on disk, and no file is visible before it is.
 */
export class Batches<Extra = never> implements WriteProgress {
  private dispatched = 0;
  private writtenBelow = 0;
  /** Groups written out of order, above writtenBelow. */
  private readonly writtenAhead = new Set<number>();
  private readonly staged: StagedMessage[] = [];
  private readonly rows: MessageRow[] = [];
  private readonly extras: Extra[] = [];
  private stagedBytes = 0;
  private stagedExtraBytes = 0;
  private group: WholeMessage[] = [];
  private groupBytes = 0;
  private writes: Promise<void>[] = [];
  private bytesInFlight = 0;
  /** The last batch cut: flushed, journaled, published. */
  private previous: Promise<void> = Promise.resolve();
  /** The batch cut before it, which cut() waits for (see there). */
  private beforePrevious: Promise<void> = Promise.resolve();
  /**
   * The first sequence number of the last batch published and not yet journaled done: it is
   * marked done with the next batch's pending record (or with the source's done mark, by
   * finish()), so each batch costs the journal one durable commit. Until then a crash leaves
   * it pending, which the next run's settle() resolves by its files in place, as for a crash
   * during its publishing.
   */
  private unmarked: number | null = null;

  constructor(
    private readonly writer: FolderWriter,
    private readonly journal: Journal,
    private readonly sourceId: number,
    private readonly hooks: {
      /** Runs before each batch becomes visible (the keywords file must exist first). */
      beforePublish: () => void;
      /** Runs once a batch is visible, with what add() was given for each message. */
      afterPublish?: (extras: Extra[]) => Promise<void>;
    },
    private readonly limits: BatchLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * Null when a whole message may be queued now; else a promise that settles once the thread
   * pool holds few enough writes. Asked before each writeWhole: most messages never wait, and
   * those that do not are not made to await anything.
   */
  writeRoom(): Promise<void> | null {
    return this.full() ? this.settleUntilRoom() : null;
  }

  /** Queues a whole message for writing to tmp/ (after writeRoom, which bounds what is queued). */
  writeWhole(message: WholeMessage, bytes: number): void {
    this.group.push(message);
    this.groupBytes += bytes;
    if (this.group.length >= this.limits.groupMessages || this.groupBytes >= this.limits.groupBytes) this.dispatchGroup();
  }

  /**
   * Adds a message whose tmp/ file is written (or queued), with what the batch carries for
   * it (`extra`, of `extraBytes`). When that fills the batch, the batch is cut and the promise
   * returned must settle before the next add; else null.
   */
  add(staged: StagedMessage, row: MessageRow, extra?: Extra, extraBytes = 0): Promise<void> | null {
    this.staged.push(staged);
    this.rows.push(row);
    if (extra !== undefined) this.extras.push(extra);
    this.stagedBytes += row.size;
    this.stagedExtraBytes += extraBytes;
    const { messages, bytes, sourceEnd, tailMessages } = this.limits;
    const full = this.staged.length >= messages || this.stagedBytes >= bytes || this.stagedExtraBytes >= this.limits.extraBytes;
    const tail = sourceEnd !== undefined && this.staged.length >= tailMessages && this.stagedBytes >= sourceEnd - row.end;
    return full || tail ? this.cut() : null;
  }

  get groupsDispatched(): number {
    return this.dispatched;
  }

  get groupsWritten(): number {
    return this.writtenBelow;
  }

  /** Makes everything added visible, and journals it done with the source (one commit). */
  async finish(identity: SourceIdentity, beforeDone?: () => void | Promise<void>): Promise<void> {
    await this.cut();
    await this.previous;
    if (beforeDone) {
      // What beforeDone reads of the journal includes the last batch: marked done on its own.
      if (this.unmarked !== null) this.journal.markDone(this.sourceId, this.unmarked);
      this.unmarked = null;
      await beforeDone();
    }
    this.journal.finish(this.sourceId, identity, this.unmarked);
    this.unmarked = null;
  }

  /**
   * Waits, ignoring failures, until nothing is running: after a failure, so the journal is
   * not closed under a batch still being published (its rows stay pending; the next run
   * settles them). Then discards what was staged and not cut into a batch.
   */
  async quiesce(): Promise<void> {
    await Promise.allSettled(this.writes);
    await this.previous.catch(() => undefined);
    this.writer.discard(this.staged);
  }

  private dispatchGroup(): void {
    if (this.group.length === 0) return;
    const bytes = this.groupBytes;
    const number = this.dispatched++;
    const tracked = this.writer.writeGroup(this.group).then(() => {
      this.bytesInFlight -= bytes;
      this.written(number);
    });
    tracked.catch(() => undefined);
    this.writes.push(tracked);
    this.bytesInFlight += bytes;
    this.group = [];
    this.groupBytes = 0;
  }

  private written(number: number): void {
    if (number !== this.writtenBelow) {
      this.writtenAhead.add(number);
      return;
    }
    this.writtenBelow++;
    while (this.writtenAhead.delete(this.writtenBelow)) this.writtenBelow++;
  }

  private full(): boolean {
    return this.writes.length >= this.limits.writesInFlight || this.bytesInFlight > this.limits.bytesInFlight;
  }

  private async settleUntilRoom(): Promise<void> {
    while (this.full()) await this.settleOldestWrite();
  }

  private async settleOldestWrite(): Promise<void> {
    const oldest = this.writes.shift();
    await oldest;
  }

  private async cut(): Promise<void> {
    if (this.staged.length === 0) return;
    this.dispatchGroup();
    while (this.writes.length > 0) await this.settleOldestWrite();
    // Two batches are under way at most: this one's flush runs while the one before it is
    // journaled and published, so the reader waits only for the batch before that. Waiting
    // for the last one instead left the reader idle on disk while a batch's two flushes and
    // the journal's commit waited on the device in turn (0.46-0.64 s of a ~2.2 s migration;
    // now 0.07-0.2 s).
    await this.beforePrevious;
    // Emptied in place, not replaced: a new [] holds numbers until its first push, and
    // reassigned fields lose V8's constant tracking; either throws away the optimized code
    // of the delivery loop, which inlines add(), at the first cut.
    const staged = this.staged.splice(0);
    const rows = this.rows.splice(0);
    const extras = this.extras.splice(0);
    this.stagedBytes = 0;
    this.stagedExtraBytes = 0;
    const prior = this.previous;
    const flushed = this.writer.flush(staged);
    this.beforePrevious = prior;
    // Published only after the batch before it, and only once both its flush and that batch
    // have settled: a failure discards this batch's files after its flush is done with them.
    this.previous = Promise.allSettled([flushed, prior]).then(async ([flush, before]) => {
      if (before.status === "rejected") throw before.reason;
      if (flush.status === "rejected") throw flush.reason;
      this.hooks.beforePublish();
      this.journal.recordPending(this.sourceId, rows, this.unmarked);
      this.unmarked = null;
      await this.writer.publish(staged);
      this.unmarked = rows[0].seq;
      await this.hooks.afterPublish?.(extras);
    });
    // A batch that fails before its publish still holds its unnamed files open.
    this.previous = this.previous.catch((err: unknown) => {
      this.writer.discard(staged);
      throw err;
    });
    this.previous.catch(() => undefined);
  }
}

import { WINDOW_BYTES, type WindowBuffers } from "../mbox/window.js";

/** How far a delivery's whole-message writes have got (Batches): groups are numbered as dispatched. */
export interface WriteProgress {
  /** The number the group being filled now will get: every group dispatched so far is below it. */
  readonly groupsDispatched: number;
  /** Every group numbered below this one has been written (none that failed counts). */
  readonly groupsWritten: number;
}

/** Retired buffers kept waiting for their writes, in bytes; older ones are left to the garbage collector. */
const WAITING_BYTES = 16 * 1024 * 1024;

/**
 * Window buffers of the default size that finished deliveries on this thread handed on
 * (ReusedWindows.release), for the next delivery to take before it allocates. A delivery
 * cycles through a handful (six for a mailbox of 31 MB), and fresh ones cost page faults and
 * zeroing: 16 mailboxes of 31 MB on one pool worker took 1.77 s without this, 1.54 s with it
 * (8 interleaved rounds, --jobs 1 --no-index). Smaller windows (a small mailbox's, sized to
 * it) are not kept: few would ever fit another mailbox.
 */
const spare: Buffer[] = [];
const SPARE_BUFFERS = 16;

/**
 * The reader's window buffers for one delivery, reused once no write can still read them.
 * A whole message is written from views into these buffers, on the thread pool, some time
 * after the window has moved on. A buffer retired while group N is being filled may hold
 * bytes of any message in groups up to N (the message being read goes into N, or is
 * streamed to its file before the next one is read): it is taken again only after every
 * group up to N is written. Allocating a fresh megabyte per move instead (500 for the bench
 * mbox) costs page faults and zeroing in the kernel, and makes V8 collect garbage for the
 * external memory: 3-12% of a migration's CPU time in interleaved A/B runs.
 */
export class ReusedWindows implements WindowBuffers {
  private readonly free: Buffer[] = [];
  private readonly retired: { buf: Buffer; fence: number }[] = [];
  private waitingBytes = 0;

  constructor(
    private readonly writes: WriteProgress,
    private readonly maxWaitingBytes = WAITING_BYTES,
  ) {}

  take(capacity: number): Buffer {
    this.reclaim();
    // A window that grew (a line longer than it) asks for more from then on: smaller ones go.
    for (let buf = this.free.pop(); buf; buf = this.free.pop()) if (buf.length === capacity) return buf;
    return (capacity === WINDOW_BYTES ? spare.pop() : undefined) ?? Buffer.allocUnsafe(capacity);
  }

  /**
   * Hands the buffers of the default size on to the next delivery on this thread. Only once
   * no write can read them any more: after the delivery's last write settled.
   */
  release(): void {
    for (const buf of [...this.free, ...this.retired.map((r) => r.buf)]) {
      if (buf.length === WINDOW_BYTES && spare.length < SPARE_BUFFERS) spare.push(buf);
    }
    this.free.length = 0;
    this.retired.length = 0;
    this.waitingBytes = 0;
  }

  retire(buf: Buffer): void {
    this.retired.push({ buf, fence: this.writes.groupsDispatched });
    this.waitingBytes += buf.length;
    // While no group is written (a message too large for one is streamed to its file
    // instead), retired buffers pile up: past the limit the oldest are given up, not held.
    while (this.waitingBytes > this.maxWaitingBytes) this.waitingBytes -= (this.retired.shift() as { buf: Buffer }).buf.length;
  }

  private reclaim(): void {
    const written = this.writes.groupsWritten;
    while (this.retired.length > 0 && this.retired[0].fence < written) {
      const { buf } = this.retired.shift() as { buf: Buffer };
      this.waitingBytes -= buf.length;
      this.free.push(buf);
    }
  }
}

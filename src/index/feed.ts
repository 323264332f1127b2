import { Worker } from "node:worker_threads";
import type { FedMessage } from "./appender.js";
import { AHEAD, HeaderArena, SharedSlot } from "./feed-memory.js";
import type { IndexSummary } from "./indexer.js";

/**
 * Batches sent and not yet acknowledged: at most AHEAD + 1, so a slot is reused only after
 * its batch was answered. Every feed of this thread uses the same slots: one mailbox's feed
 * ends (finish or abort answered) before the next one starts, and the feed thread answers in
 * order, so by then it has read every slot it was sent.
 */
const slots = Array.from({ length: AHEAD + 1 }, () => new SharedSlot());

type Reply = { id?: number } & ({ type: "ack" } | { type: "done"; summary: IndexSummary } | { type: "failed"; message: string } | { type: "aborted" });

let sessions = 0;

/** The feed thread of this thread, started on first use and kept for the next mailbox. */
let thread: { worker: Worker; listener: ((reply: Reply) => void) | null; dead: Error | null } | null = null;

function feedThread(): NonNullable<typeof thread> {
  if (thread && !thread.dead) return thread;
  // Under tsx (the tests) the worker is the .ts source; built, the .js beside this file.
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./feed-worker${ext}`, import.meta.url));
  // An idle feed thread does not keep its parent alive.
  worker.unref();
  const current: NonNullable<typeof thread> = { worker, listener: null, dead: null };
  const died = (err: Error) => {
    current.dead ??= err;
    current.listener?.({ type: "failed", message: err.message });
  };
  worker.on("message", (reply: Reply) => current.listener?.(reply));
  worker.on("error", died);
  worker.on("exit", (code) => died(new Error(`index feed thread stopped (exit ${code})`)));
  thread = current;
  return current;
}

/**
 * Starts this thread's feed thread now, ahead of the mailbox it will serve, so its start
 * (worker boot, SQLite loading) overlaps the migration's own start instead
 * of competing with the reading later. Unreferenced: unused, it keeps nothing alive.
 */
export function startFeedThread(): void {
  feedThread();
}

/**
 * Fills a mailbox's index while a migration writes it, instead of reading every message back
 * afterwards: the migration hands over each published batch's names and header blocks, and
 * a worker thread parses them and adds the rows (on another core, beside the migration).
 * The worker first brings the index current and finally settles it as `mailstore index`
 * would, so what it holds is what a scan of the Maildir would give (tested against one).
 * One thread serves the mailboxes a migrating thread delivers, one after another, so its
 * start (a Node environment and better-sqlite3 loading in it) is paid once. The caller holds
 * the index lock throughout.
 */
export class IndexFeed {
  private readonly thread = feedThread();
  private readonly id = ++sessions;
  private failure: Error | null = null;
  private acked = 0;
  private sent = 0;
  private waiting: (() => void) | null = null;
  private settle: ((reply: Reply) => void) | null = null;
  /** Where the migrating thread copies each message's header block as it stages it. */
  readonly headers = new HeaderArena();

  /** `mark`: in the base name of every file the delivery makes (NameGenerator's mark). */
  constructor(maildir: string, folderDir: string, mark: string) {
    this.thread.listener = (reply) => {
      // Replies of an earlier mailbox's session are late, not ours; a dead thread's are.
      if (reply.id === undefined || reply.id === this.id) this.receive(reply);
    };
    if (this.thread.dead) this.failure = this.thread.dead;
    else {
      // Referenced while it works for us, so awaiting it keeps this thread alive.
      this.thread.worker.ref();
      this.post({ type: "open", maildir, folderDir, mark });
    }
  }

  /** Whether the feed failed; the caller then indexes the usual way. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Hands over a published batch; waits while the worker is more than a few batches behind. */
  async add(rows: FedMessage[]): Promise<void> {
    if (rows.length === 0) return;
    const carried = this.headers.carrying(rows, this.sent);
    if (this.failure) {
      // The feed thread reads nothing more of this mailbox: the memory serves the next batches.
      this.headers.answered(Number.POSITIVE_INFINITY);
      return;
    }
    const packed = slots[this.sent % slots.length].pack(rows, carried);
    this.post({ type: "rows", rows: packed });
    this.sent++;
    while (!this.failure && this.sent - this.acked > AHEAD) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  /** Settles the index and closes it; rejects if the feed failed. */
  async finish(): Promise<IndexSummary> {
    const reply = await this.ask("finish");
    if (reply.type !== "done") throw this.failure ?? new Error("index feed: unexpected reply");
    return reply.summary;
  }

  /** Drops the mailbox's feed (the migration failed): a new index is discarded, rows added so far stay. */
  async abort(): Promise<void> {
    await this.ask("abort");
  }

  private post(msg: object): void {
    this.thread.worker.postMessage({ id: this.id, ...msg });
  }

  /** Sends finish or abort and waits for its answer; the thread is idle afterwards. */
  private async ask(type: "finish" | "abort"): Promise<Reply> {
    const reply = await new Promise<Reply>((resolve) => {
      if (this.thread.dead) return resolve({ type: "failed", message: this.thread.dead.message });
      this.thread.worker.ref();
      this.settle = resolve;
      this.post({ type });
    });
    if (!this.thread.dead) this.thread.worker.unref();
    // Answered or dead, the feed thread reads none of this mailbox's memory any more.
    this.headers.answered(Number.POSITIVE_INFINITY);
    return reply;
  }

  private receive(reply: Reply): void {
    if (reply.type === "ack") {
      this.acked++;
      this.headers.answered(this.acked);
      this.wake();
      return;
    }
    if (reply.type === "failed") {
      this.failure ??= new Error(reply.message);
      this.wake();
    }
    // Any other reply answers a pending finish or abort. A "failed" may be an earlier one (a
    // batch that failed) arriving first; it serves as well: the worker has dropped the
    // mailbox by then, which is all the caller waits for before unlocking.
    const settle = this.settle;
    this.settle = null;
    settle?.(reply);
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}

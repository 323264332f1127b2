import { Worker } from "node:worker_threads";
import type { FedMessage, IndexSummary } from "./indexer.js";

const AHEAD = 3;

/**
 * Fills a mailbox's index while a migration writes it, instead of reading every message back
 * afterwards: the migration hands over each published batch's names and header blocks, and
 * a worker thread parses them and adds the rows (on another core, beside the migration).
 * The worker first brings the index current and finally settles it as `mailstore index`
 * would, so what it holds is what a scan of the Maildir would give (tested against one).
 * The caller holds the index lock throughout.
 */
export class IndexFeed {
  private readonly worker: Worker;
  private failure: Error | null = null;
  private acked = 0;
  private sent = 0;
  private waiting: (() => void) | null = null;
  private settled = false;
  private done: Promise<IndexSummary>;

  constructor(maildir: string, folderDir: string) {
    // Under tsx (the tests) the worker is the .ts source; built, the .js beside this file.
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    this.worker = new Worker(new URL(`./feed-worker${ext}`, import.meta.url), { workerData: { maildir, folderDir } });
    this.done = new Promise((resolve, reject) => {
      this.worker.on("message", (msg: { type: "ack" } | { type: "done"; summary: IndexSummary }) => {
        if (msg.type === "done") {
          this.settled = true;
          return resolve(msg.summary);
        }
        this.acked++;
        this.wake();
      });
      this.worker.on("error", (err) => {
        if (this.settled) return;
        this.failure = err;
        this.wake();
        reject(err);
      });
      this.worker.on("exit", (code) => {
        if (this.settled) return;
        this.failure ??= new Error(`index feed stopped (exit ${code})`);
        this.wake();
        reject(this.failure);
      });
    });
    this.done.catch(() => undefined);
  }

  /** Whether the feed failed; the caller then indexes the usual way. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Hands over a published batch; waits while the worker is more than a few batches behind. */
  async add(rows: FedMessage[]): Promise<void> {
    if (this.failure || rows.length === 0) return;
    this.worker.postMessage({ type: "rows", rows });
    this.sent++;
    while (!this.failure && this.sent - this.acked > AHEAD) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  /** Settles the index and closes it; rejects if the feed failed. */
  finish(): Promise<IndexSummary> {
    if (!this.failure) this.worker.postMessage({ type: "finish" });
    return this.done;
  }

  /** Stops the worker (the migration failed): a new index is discarded, rows added so far stay. */
  async abort(): Promise<void> {
    await this.worker.terminate();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}

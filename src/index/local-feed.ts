import type { FedMessage } from "./appender.js";
import { HeaderArena, SharedSlot } from "./feed-memory.js";
import { FeedSession } from "./feed-session.js";
import type { IndexSummary } from "./indexer.js";

/**
 * The index feed of a source the feed thread does not serve (see IndexFeed): one too small to
 * be worth it, or any in a run with no core free for it. The delivering thread adds each
 * published batch's rows itself, from the header blocks it holds, so the mailbox is not read
 * back after its delivery. As with the feed thread, a failure fails the feed only: the
 * delivery goes on, and finish() rejects so that the caller indexes the usual way.
 */
export class LocalFeed {
  /** Where the delivery copies each message's header block as it stages it. */
  readonly headers = new HeaderArena();
  private readonly slot = new SharedSlot();
  private session: FeedSession | null = null;
  private failure: Error | null = null;
  private sent = 0;

  constructor(maildir: string, folderDir: string, mark: string) {
    try {
      this.session = new FeedSession(maildir, folderDir, mark);
    } catch (err) {
      this.failure = err as Error;
    }
  }

  async add(rows: FedMessage[]): Promise<void> {
    if (rows.length === 0) return;
    const carried = this.headers.carrying(rows, this.sent);
    this.sent++;
    try {
      this.session?.add(this.slot.pack(rows, carried));
    } catch (err) {
      this.failure = err as Error;
      this.abandon();
    } finally {
      this.headers.answered(this.sent);
    }
  }

  async finish(): Promise<IndexSummary> {
    const session = this.session;
    this.session = null;
    if (!session) throw this.failure ?? new Error("index feed: finished twice");
    return session.finish();
  }

  async abort(): Promise<void> {
    this.abandon();
  }

  private abandon(): void {
    const session = this.session;
    this.session = null;
    session?.drop();
  }
}

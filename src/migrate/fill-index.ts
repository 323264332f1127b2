import { IndexFeed } from "../index/feed.js";
import { LocalFeed } from "../index/local-feed.js";
import type { FedMessage } from "../index/appender.js";
import type { HeaderArena } from "../index/feed-memory.js";
import { type IndexSummary, indexMaildir } from "../index/indexer.js";
import { lockIndex, withIndexLock } from "../index/run.js";
import type { MailboxResult } from "./mailbox.js";

/**
 * What indexing the mailbox found that its admin should hear of: a damaged index set aside,
 * and message files without a readable header (as `mailstore index` reports them): files
 * that something else put in the Maildir, or a message whose header is only a `>From ` line.
 */
function noteIndexed(summary: IndexSummary, result: MailboxResult): void {
  if (summary.setAside) result.warnings.push(`damaged index set aside and rebuilt: ${summary.setAside}`);
  if (summary.broken > 0) result.warnings.push(`${summary.broken} message file(s) in the Maildir unreadable or without a header; indexed with what could be read`);
}

/** Indexes what was just written, so a migrated mailbox needs no second pass. */
export async function fillIndex(maildir: string, result: MailboxResult): Promise<void> {
  try {
    const summary = await withIndexLock(maildir, 10_000, () => indexMaildir(maildir));
    result.indexed = summary !== null;
    if (summary) result.indexedBy = "scan";
    if (!summary) result.warnings.push("index not updated: another mailstore index holds its lock; run mailstore index later");
    else noteIndexed(summary, result);
  } catch (err) {
    result.indexed = false;
    result.warnings.push(`index not updated: ${(err as Error).message}`);
  }
}

/**
 * The index filled during delivery (see index/feed.ts), under the index lock. Null when
 * another run holds the lock now: then the mailbox is indexed after delivery, as before.
 */
export class DeliveryIndex {
  private finished = false;

  private constructor(
    private readonly maildir: string,
    private readonly feed: IndexFeed | LocalFeed,
    private readonly release: () => Promise<void>,
  ) {}

  /**
   * `onThread`: the delivering thread fills the index itself (LocalFeed), for a source too
   * small to be worth the feed thread or where no core is free for one; else the feed
   * thread does (IndexFeed).
   */
  static async start(maildir: string, folderDir: string, mark: string, onThread = false): Promise<DeliveryIndex | null> {
    const lock = await lockIndex(maildir, 0);
    if (!lock) return null;
    try {
      return new DeliveryIndex(maildir, onThread ? new LocalFeed(maildir, folderDir, mark) : new IndexFeed(maildir, folderDir, mark), lock.release);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Where each message's header block is copied as the message is staged (IndexFeed.headers). */
  get headers(): HeaderArena {
    return this.feed.headers;
  }

  /** For Batches' afterPublish: the messages of a batch now visible. */
  published(messages: FedMessage[]): Promise<void> {
    return this.feed.add(messages);
  }

  /** After the last batch: the index settled and closed, or (the feed failed) built the usual way. */
  async complete(result: MailboxResult): Promise<void> {
    this.finished = true;
    let summary: Awaited<ReturnType<IndexFeed["finish"]>> | null = null;
    let failure: Error | null = null;
    try {
      summary = await this.feed.finish();
    } catch (err) {
      failure = err as Error;
      await this.feed.abort();
    }
    // Unlocked before any scan: fcntl locks are the process's, and the scan's own lock would
    // be dropped with ours when either descriptor closed.
    await this.release();
    if (summary) {
      result.indexed = true;
      result.indexedBy = "delivery";
      noteIndexed(summary, result);
      return;
    }
    result.warnings.push(`index feed failed (${failure?.message}); indexed after delivery instead`);
    await fillIndex(this.maildir, result);
  }

  /** After a failed delivery: stops the feed (rows of published batches stay) and unlocks. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.feed.abort();
    await this.release();
  }
}

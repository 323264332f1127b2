import { type OpenedIndex, openIndex } from "./db.js";
import type { PackedRows } from "./feed-memory.js";
import { type MessageAppender, messageAppender } from "./appender.js";
import { type IndexSummary, stamped, syncIndex, withIndex } from "./indexer.js";

/**
 * One mailbox's index, filled as its messages are delivered: brought current when it opens
 * (files the delivery has already published are left to their batches), given each published
 * batch's rows, and settled at the end as `mailstore index` would. The feed thread runs one
 * per mailbox (feed-worker.ts); a delivery the feed thread does not serve runs its own
 * (LocalFeed).
 */
export class FeedSession {
  private opened: OpenedIndex | null;
  private readonly first: IndexSummary;
  private readonly appender: MessageAppender;

  /** `mark`: in the base name of every file the delivery makes (NameGenerator's mark). */
  constructor(
    private readonly maildir: string,
    folderDir: string,
    mark: string,
  ) {
    const opened = openIndex(maildir);
    this.opened = opened;
    try {
      this.first = syncIndex(opened.db, maildir, { setAside: opened.setAside, fed: { dir: folderDir, leave: mark } }).summary;
      this.appender = messageAppender(opened.db, maildir, folderDir);
    } catch (err) {
      this.drop();
      throw err;
    }
  }

  add(rows: PackedRows): void {
    this.appender.appendPacked(rows);
  }

  /** Settles the index and closes it. */
  finish(): IndexSummary {
    const opened = this.opened as OpenedIndex;
    this.opened = null;
    const fed = { dir: this.appender.dir, holds: this.appender.holds };
    const summary = stamped(withIndex(opened, () => syncIndex(opened.db, this.maildir, { setAside: opened.setAside, fed })));
    const fedRows = this.appender.counts;
    return { ...summary, added: this.first.added + fedRows.added + summary.added, broken: this.first.broken + fedRows.broken + summary.broken };
  }

  /** Drops the index: a new one is discarded, rows added to an existing one stay. */
  drop(): void {
    const opened = this.opened;
    this.opened = null;
    if (!opened) return;
    if (opened.building) opened.building.discard();
    else opened.db.close();
  }
}

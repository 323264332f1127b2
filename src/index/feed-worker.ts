import { parentPort } from "node:worker_threads";
import { type OpenedIndex, openIndex } from "./db.js";
import type { PackedRows } from "./feed-memory.js";
import { type MessageAppender, messageAppender } from "./appender.js";
import { emptySummary, type IndexSummary, stamped, syncIndex, withIndex } from "./indexer.js";

/**
 * The index feed's thread (see feed.ts), one per migrating thread, serving one mailbox at a
 * time: "open" brings the mailbox's index current, "rows" adds a published batch, "finish"
 * settles and closes the index, "abort" drops it. A failure fails that mailbox's feed only.
 */
const port = parentPort;
if (!port) throw new Error("feed-worker.ts runs only as a worker thread");
// The decoders (libmime, mailparser's address parser) load at the first header that needs
// them: the addon reads nearly every header (native/index-fields.c), so a mailbox without
// encoded words in other charsets never loads them.

type Message = { id: number } & ({ type: "open"; maildir: string; folderDir: string; mark: string } | { type: "rows"; rows: PackedRows } | { type: "finish" } | { type: "abort" });

let session: { maildir: string; opened: OpenedIndex; first: IndexSummary; appender: MessageAppender | null } | null = null;
/** A session that failed: its later messages are answered, not worked on. */
let failed = false;
/** Replies carry the session's id, so a late reply is never taken for the next session's. */
let id = 0;
const reply = (msg: object) => port?.postMessage({ id, ...msg });

function drop(): void {
  if (!session) return;
  const { opened } = session;
  session = null;
  if (opened.building) opened.building.discard();
  else opened.db.close();
}

function fail(err: unknown): void {
  try {
    drop();
  } catch {
    // the first error is the one to report
  }
  failed = true;
  reply({ type: "failed", message: (err as Error).message });
}

port.on("message", (msg: Message) => {
  id = msg.id;
  if (msg.type === "open") {
    failed = false;
    try {
      const opened = openIndex(msg.maildir);
      session = { maildir: msg.maildir, opened, first: emptySummary(msg.maildir), appender: null };
      // Files this delivery published before the thread got here are left to their batches.
      session.first = syncIndex(opened.db, msg.maildir, { setAside: opened.setAside, fed: { dir: msg.folderDir, leave: msg.mark } }).summary;
      session.appender = messageAppender(opened.db, msg.maildir, msg.folderDir);
    } catch (err) {
      fail(err);
    }
    return;
  }
  if (msg.type === "abort") {
    try {
      drop();
    } finally {
      failed = false;
      reply({ type: "aborted" });
    }
    return;
  }
  if (failed || !session?.appender) {
    reply(msg.type === "rows" ? { type: "ack" } : { type: "failed", message: "the index feed failed earlier" });
    return;
  }
  const { maildir, opened, first, appender } = session;
  try {
    if (msg.type === "rows") {
      appender.appendPacked(msg.rows);
      reply({ type: "ack" });
      return;
    }
    session = null;
    const fed = { dir: appender.dir, holds: appender.holds };
    const summary = stamped(withIndex(opened, () => syncIndex(opened.db, maildir, { setAside: opened.setAside, fed })));
    const fedRows = appender.counts;
    reply({ type: "done", summary: { ...summary, added: first.added + fedRows.added + summary.added, broken: first.broken + fedRows.broken + summary.broken } });
  } catch (err) {
    fail(err);
  }
});

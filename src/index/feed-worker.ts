import { parentPort } from "node:worker_threads";
import type { PackedRows } from "./feed-memory.js";
import { FeedSession } from "./feed-session.js";

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

let session: FeedSession | null = null;
/** A session that failed: its later messages are answered, not worked on. */
let failed = false;
/** Replies carry the session's id, so a late reply is never taken for the next session's. */
let id = 0;
const reply = (msg: object) => port?.postMessage({ id, ...msg });

function drop(): void {
  const current = session;
  session = null;
  current?.drop();
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
      session = new FeedSession(msg.maildir, msg.folderDir, msg.mark);
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
  if (failed || !session) {
    reply(msg.type === "rows" ? { type: "ack" } : { type: "failed", message: "the index feed failed earlier" });
    return;
  }
  try {
    if (msg.type === "rows") {
      session.add(msg.rows);
      reply({ type: "ack" });
      return;
    }
    const finishing = session;
    session = null;
    reply({ type: "done", summary: finishing.finish() });
  } catch (err) {
    fail(err);
  }
});

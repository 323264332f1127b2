import { parentPort, workerData } from "node:worker_threads";
import { openIndex } from "./db.js";
import { type FedMessage, appendMessages, stamped, syncIndex, withIndex } from "./indexer.js";

/**
 * The index feed's thread (see feed.ts): brings the mailbox's index current, then adds the
 * rows of each batch the migration publishes, then settles the index once more and closes it.
 */
const { maildir, folderDir } = workerData as { maildir: string; folderDir: string };
const port = parentPort;
if (!port) throw new Error("feed-worker.ts runs only as a worker thread");

const opened = openIndex(maildir);
let finished = false;
const first = (() => {
  try {
    return syncIndex(opened.db, maildir, { setAside: opened.setAside }).summary;
  } catch (err) {
    close(false);
    throw err;
  }
})();

function close(complete: boolean): void {
  if (finished) return;
  finished = true;
  if (!opened.building) opened.db.close();
  else if (complete) opened.building.publish();
  else opened.building.discard();
}

port.on("message", (msg: { type: "rows"; rows: FedMessage[] } | { type: "finish" }) => {
  if (msg.type === "rows") {
    try {
      appendMessages(opened.db, maildir, folderDir, msg.rows);
    } catch (err) {
      close(false);
      throw err;
    }
    port.postMessage({ type: "ack" });
    return;
  }
  // The opened index is closed by withIndex; close() only guards the failure paths above.
  finished = true;
  const synced = withIndex(opened, () => syncIndex(opened.db, maildir, { setAside: opened.setAside }));
  const summary = stamped(synced);
  port.postMessage({ type: "done", summary: { ...summary, added: first.added + summary.added, broken: first.broken + summary.broken } });
  port.close();
});

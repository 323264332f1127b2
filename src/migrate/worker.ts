import { parentPort, workerData } from "node:worker_threads";
import type { MailboxTask, MigrateOptions } from "./mailbox.js";

/** Runs migrate, verify or index tasks sent by the pool, reporting progress at most every 100 ms. */
const shared = workerData as { mode: "migrate" | "verify" | "index"; options: MigrateOptions & { full?: boolean; lockWaitMs?: number }; prestartFeed?: boolean };
const port = parentPort;
if (!port) throw new Error("worker.ts runs only as a worker thread");
// A large source will be indexed as it is delivered: start the feed thread while this one loads.
if (shared.prestartFeed) void import("../index/feed.js").then((feed) => feed.startFeedThread()).catch(() => undefined);

port.on("message", async ({ index, task }: { index: number; task: MailboxTask }) => {
  let bytes = 0;
  let messages = 0;
  let last = 0;
  const progress = (b: number, m: number) => {
    bytes += b;
    messages += m;
    const now = Date.now();
    if (now - last >= 100) {
      port.postMessage({ type: "progress", index, bytes, messages });
      bytes = 0;
      messages = 0;
      last = now;
    }
  };
  // Each mode loads only its own code: an index worker never needs the mbox reader.
  const result =
    shared.mode === "verify"
      ? await (await import("./verify.js")).verifyMailbox(task, shared.options, progress)
      : shared.mode === "index"
        ? await (await import("../index/run.js")).indexUser(task.user, shared.options)
        : await (await import("./mailbox.js")).migrateMailbox(task, shared.options, progress);
  port.postMessage({ type: "progress", index, bytes, messages });
  port.postMessage({ type: "result", index, result });
});

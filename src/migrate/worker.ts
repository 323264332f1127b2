import { parentPort, workerData } from "node:worker_threads";
import { forwardHeldFiles } from "../util/held-files.js";
import type { MailboxTask, MigrateOptions } from "./mailbox.js";

type Mode = "migrate" | "verify" | "index";
type Shared = { mode: Mode; options: MigrateOptions & { full?: boolean; lockWaitMs?: number }; prestartFeed?: boolean };
type Message = { type: "init"; shared: Shared } | { type?: undefined; index: number; task: MailboxTask };

// Each mode loads only its own code: an index worker never needs the mbox reader.
const code = {
  migrate: () => import("./mailbox.js"),
  verify: () => import("./verify.js"),
  index: () => import("../index/run.js"),
};

/**
 * Runs migrate, verify or index tasks sent by the pool (its first message says which, with
 * the options), reporting progress at most every 100 ms.
 */
const port = parentPort;
if (!port) throw new Error("worker.ts runs only as a worker thread");
// The source locks this thread takes, for the main thread to remove if the run is interrupted.
forwardHeldFiles((event, file) => port.postMessage({ type: "held-file", event, file }));
// Started ahead of its pool (prestartWorker), a worker knows its mode: it loads that code now.
const hint = workerData as { mode?: Mode } | null;
if (hint?.mode) void code[hint.mode]().catch(() => undefined);
let shared: Shared | null = null;

port.on("message", async (msg: Message) => {
  if (msg.type === "init") {
    shared = msg.shared;
    // A large source will be indexed as it is delivered: start the feed thread while this one loads.
    if (shared.prestartFeed) void import("../index/feed.js").then((feed) => feed.startFeedThread()).catch(() => undefined);
    return;
  }
  if (!shared) throw new Error("a task came before the pool's init message");
  const { index, task } = msg;
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
  const result =
    shared.mode === "verify"
      ? await (await code.verify()).verifyMailbox(task, shared.options, progress)
      : shared.mode === "index"
        ? await (await code.index()).indexUser(task.user, shared.options)
        : await (await code.migrate()).migrateMailbox(task, shared.options, progress);
  port.postMessage({ type: "progress", index, bytes, messages });
  port.postMessage({ type: "result", index, result });
});

import { parentPort, workerData } from "node:worker_threads";
import { forwardHeldFiles, stopHolding } from "../util/held-files.js";
import type { MailboxTask } from "./task.js";
import { type Mode, prepare, preload, runTask, type SharedOptions } from "./task-runner.js";

type Message = { type: "init"; shared: SharedOptions } | { type: "stop" } | { type?: undefined; index: number; task: MailboxTask };

/** A pool worker (pool.ts): runs the migrate, verify or index tasks the pool sends it. */
const port = parentPort;
if (!port) throw new Error("worker.ts runs only as a worker thread");
// The source locks this thread takes, for the main thread to remove if the run is interrupted.
forwardHeldFiles((event, file) => port.postMessage({ type: "held-file", event, file }));
// Started ahead of its pool (prestartWorker), a worker knows its mode: it loads that code now.
const hint = workerData as { mode?: Mode } | null;
if (hint?.mode) preload(hint.mode);
let shared: SharedOptions | null = null;

port.on("message", async (msg: Message) => {
  if (msg.type === "init") {
    shared = msg.shared;
    prepare(shared);
    return;
  }
  // The run is being interrupted (pool.ts stopPoolWorkers): this thread's own list of its
  // locks is exact, where the notes it forwarded may still be on their way.
  if (msg.type === "stop") {
    port.postMessage({ type: "stopped", removed: stopHolding() });
    return;
  }
  if (!shared) throw new Error("a task came before the pool's init message");
  const { index, task } = msg;
  const result = await runTask(shared, task, (bytes, messages) => port.postMessage({ type: "progress", index, bytes, messages }));
  port.postMessage({ type: "result", index, result });
});

import type { MailboxTask, MigrateOptions } from "./task.js";

// What runs one migrate, verify or index task, on whichever thread runs it: a pool worker
// (worker.ts) or, for a run of one task, the main thread (run-tasks.ts).

export type Mode = "migrate" | "verify" | "index";

/** A run's options, the same for each of its tasks. */
export type SharedOptions =
  | {
      mode: "migrate" | "verify";
      options: MigrateOptions;
      /** Start the index feed thread ahead of the first task (a large source will use it). */
      prestartFeed?: boolean;
    }
  | { mode: "index"; options: Pick<MigrateOptions, "root" | "fanout"> & { full?: boolean; lockWaitMs?: number }; prestartFeed?: undefined };

// Each mode loads only its own code: an index run never needs the mbox reader.
const code = {
  migrate: () => import("./mailbox.js"),
  verify: () => import("./verify.js"),
  index: () => import("../index/run.js"),
};

/** Starts loading a mode's code, for a thread that knows what it will run before its first task. */
export function preload(mode: Mode): void {
  void code[mode]().catch(() => undefined);
}

/** What a thread does once it has the run's options: a large source's feed thread starts now, while the code loads. */
export function prepare(shared: SharedOptions): void {
  if (shared.prestartFeed) void import("../index/feed.js").then((feed) => feed.startFeedThread()).catch(() => undefined);
}

/** Runs one task, reporting progress at most every 100 ms and once more at its end. */
export async function runTask(shared: SharedOptions, task: MailboxTask, report: (bytes: number, messages: number) => void): Promise<unknown> {
  let bytes = 0;
  let messages = 0;
  let last = 0;
  const progress = (b: number, m: number) => {
    bytes += b;
    messages += m;
    const now = Date.now();
    if (now - last >= 100) {
      report(bytes, messages);
      bytes = 0;
      messages = 0;
      last = now;
    }
  };
  const result =
    shared.mode === "index"
      ? await (await code.index()).indexUser(task.user, shared.options)
      : shared.mode === "verify"
        ? await (await code.verify()).verifyMailbox(task, shared.options, progress)
        : await (await code.migrate()).migrateMailbox(task, shared.options, progress);
  report(bytes, messages);
  return result;
}

import { scanUser, type ScanUserOptions } from "./scan-user.js";
import type { DirRecord } from "./records.js";

/**
 * A report scanner process: scans the homes its parent sends, one at a time. A process, not a
 * worker thread, because it chdir()s into each directory (see ScanUserOptions.chdir).
 */
interface Job {
  index: number;
  home: string;
  user: string;
  rel: string;
  cached?: DirRecord[];
  opts: ScanUserOptions;
}

process.on("message", (job: Job) => {
  let reply: unknown;
  try {
    reply = { index: job.index, scan: scanUser(job.home, job.user, job.rel, job.cached, { ...job.opts, chdir: true }) };
  } catch (err) {
    reply = { index: job.index, error: (err as Error).message };
  }
  process.send?.(reply);
});
process.on("disconnect", () => process.exit(0));

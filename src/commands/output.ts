import { createRequire } from "node:module";
import { formatBytes } from "../util/units.js";

export { formatBytes };

const require = createRequire(import.meta.url);

/** Progress for long runs: a bar on a terminal; nothing otherwise (cron, pipes, --json). */
export interface Progress {
  /** Progress made: bytes (or mailboxes) done, and messages. */
  add(amount: number, messages: number): void;
  /** Prints a line (stdout, or stderr for problems) without tearing the bar. */
  log(line: string, toStderr?: boolean): void;
  stop(): void;
}

/** `total` is in bytes of source, or (unit "mailboxes") a count of mailboxes. */
export function makeProgress(total: number, enabled: boolean, unit: "bytes" | "mailboxes" = "bytes"): Progress {
  const show = (n: number) => (unit === "bytes" ? formatBytes(n) : `${n} mailboxes`);
  if (!enabled) {
    return {
      add: () => undefined,
      log: (line, toStderr) => (toStderr ? process.stderr : process.stdout).write(`${line}\n`),
      stop: () => undefined,
    };
  }
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  const started = Date.now();
  let messages = 0;
  let done = 0;
  // A MultiBar of one: its log() prints above the bar, which a SingleBar cannot do.
  const multi = new cliProgress.MultiBar(
    {
      format: "{bar} {percentage}% | {done}/{size} | {messages} msgs | {rate} msg/s | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(Math.max(total, 1), 0, { done: show(0), size: show(total), messages: 0, rate: 0 });
  return {
    add(amount, m) {
      done += amount;
      messages += m;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(done, { done: show(done), messages, rate: Math.round(messages / secs) });
    },
    log(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      // stop() renders the bars but not lines still buffered by log(); update() flushes both.
      (multi as unknown as { update(): void }).update();
      multi.stop();
    },
  };
}

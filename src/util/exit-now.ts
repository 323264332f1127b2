import { nativeAddon } from "./native.js";

// Profilers and coverage write their files as the process exits the usual way.
const WRITES_AT_EXIT = /--(?:cpu-prof|heap-prof|prof)\b/;

/**
 * Ends a finished run at once with `code`, when that loses nothing: the process's own output
 * is all written (none queued on stdout or stderr), its 'exit' listeners have run, and no
 * profiler or coverage tool waits for the exit. Otherwise returns, and the process exits the
 * usual way. What it skips is the teardown of the worker threads (see native/exit-now.c): a
 * pool's threads have flushed and closed everything they wrote before reporting.
 */
export function exitNowIfDone(code: number): void {
  const addon = nativeAddon();
  if (!addon) return;
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) return;
  if (process.env.NODE_V8_COVERAGE || WRITES_AT_EXIT.test(`${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`)) return;
  // As process.exit() does before it ends the process.
  const exiting = process as { _exiting?: boolean };
  if (!exiting._exiting) {
    exiting._exiting = true;
    process.emit("exit", code);
  }
  addon.exitNow(code);
}

/**
 * Ends an interrupted run now with `code`. process.exit() would first stop each worker
 * thread, and stopping one in the middle of the addon's work on the thread pool crashed the
 * process: of 12 runs given SIGTERM, 2 ended on SIGABRT and 1 on SIGSEGV instead of with 143.
 * Nothing a kill -9 would keep is lost: the journal is made for that.
 */
export function exitInterrupted(code: number): never {
  nativeAddon()?.exitNow(code);
  process.exit(code);
}

import { exitInterrupted } from "./exit-now.js";

/** 128 + SIGPIPE (13): what a shell reports for a program that SIGPIPE ended. */
export const CLOSED_OUTPUT_STATUS = 141;

type ClosedStream = "stdout" | "stderr";
let beforeExit: ((closed: ClosedStream) => Promise<void>) | undefined;

/**
 * A reader that goes away (`mailstore list alice | head`) makes the next write to stdout or
 * stderr fail with EPIPE. Node ignores SIGPIPE, so the program would end on an unhandled
 * error with a stack trace; it ends instead as SIGPIPE ends a program: with status 141 and
 * nothing more printed, once onOutputClosed's work (if any) is done. Other errors of the two
 * streams are thrown as before.
 */
export function exitWhenOutputCloses(): void {
  let closing = false;
  for (const [name, stream] of [["stdout", process.stdout], ["stderr", process.stderr]] as const) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      if (closing) return;
      closing = true;
      void (beforeExit?.(name) ?? Promise.resolve()).finally(() => exitInterrupted(CLOSED_OUTPUT_STATUS));
    });
  }
}

/** Work to do before the program ends on a closed output (a migration releases its source locks), told which stream closed. */
export function onOutputClosed(work: (closed: ClosedStream) => Promise<void>): void {
  beforeExit = work;
}

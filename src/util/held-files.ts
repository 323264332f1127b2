import fs from "node:fs";
import { onOutputClosed } from "./closed-output.js";
import { exitInterrupted } from "./exit-now.js";

/**
 * Files the process must remove if it is interrupted: the dotlocks it holds on sources (and
 * their temporary files). Left behind, a dotlock stops deliveries to that mailbox until the
 * delivery agent judges it stale (Postfix after 500 s). Each thread keeps its own list; a
 * pool worker forwards its notes to the main thread, which is the one signals reach.
 */
export interface HeldFile {
  path: string;
  /** The file's inode: a file by that name made by someone else since is left alone. */
  ino: number;
}

type Forward = (event: "held" | "released", file: HeldFile) => void;

/** Lock files noted as held and not yet released, by path. */
export class HeldFiles {
  private readonly files = new Map<string, number>();

  note(event: "held" | "released", file: HeldFile): void {
    if (event === "held") this.files.set(file.path, file.ino);
    else if (this.files.get(file.path) === file.ino) this.files.delete(file.path);
  }

  /**
   * Removes each file that is still the one noted (same inode) and forgets them all, telling
   * `forgotten` of each; returns how many were removed.
   */
  remove(forgotten?: (file: HeldFile) => void): number {
    let removed = 0;
    for (const [path, ino] of this.files) {
      forgotten?.({ path, ino });
      try {
        if (fs.lstatSync(path).ino === ino) {
          fs.unlinkSync(path);
          removed++;
        }
      } catch {
        // already gone
      }
    }
    this.files.clear();
    return removed;
  }
}

/** This thread's: its own lock files and, in the main thread, those its pool workers forward. */
const held = new HeldFiles();
let forward: Forward | null = null;

export function noteHeld(file: HeldFile): void {
  held.note("held", file);
  forward?.("held", file);
}

export function noteReleased(file: HeldFile): void {
  held.note("released", file);
  forward?.("released", file);
}

/** Passes this thread's notes on as well (a pool worker, to its parent). */
export function forwardHeldFiles(to: Forward): void {
  forward = to;
}

/** Removes this thread's held files that are still the ones noted; returns how many were removed. */
export function removeHeldFiles(): number {
  return held.remove();
}

let stopped = false;

/**
 * Removes this thread's held files, as removeHeldFiles, and from then on refuses new ones
 * (mayHold): a run being interrupted takes no lock it would leave behind.
 */
export function stopHolding(): number {
  stopped = true;
  return removeHeldFiles();
}

/** Throws once stopHolding has been called in this thread: called before a lock file is made. */
export function mayHold(): void {
  if (stopped) throw new Error("the run is being interrupted: no new lock is taken");
}

const SIGNALS = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const;

/**
 * On SIGINT, SIGTERM or SIGHUP: removes the held files, says so through `say`, and exits
 * with 128 + the signal's number, as a shell reports a process the signal ended. When the
 * output closes (the reader of a pipe went away: see closed-output.ts), the same, and the
 * note goes to stderr unless that is what closed.
 *
 * `stopOthers` has the threads that take locks for this one (a pool's workers) remove their
 * own and stop taking any, and says how many they removed. Their notes reach this thread a
 * moment late, so its own list may lack a lock one of them has just taken: the moment a
 * worker posts a result (and this thread prints it) is when it takes its next mailbox's.
 */
export function removeHeldFilesOnSignals(say: (message: string) => void, stopOthers?: () => Promise<number>): void {
  const stop = async (why: string) => {
    const removed = (await (stopOthers?.() ?? 0)) + stopHolding();
    return `${why}; ${removed === 1 ? "1 source lock" : `${removed} source locks`} removed; run the same command again to go on from where it stopped`;
  };
  for (const [signal, code] of SIGNALS) {
    process.once(signal, async () => {
      say(await stop(`interrupted by ${signal}`));
      exitInterrupted(code);
    });
  }
  onOutputClosed(async (closed) => {
    const message = await stop(`${closed} closed (EPIPE)`);
    if (closed === "stdout") say(message);
  });
}

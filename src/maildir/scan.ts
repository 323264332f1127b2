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
  const colon = name.indexOf(":");
  return { base: baseOf(name), subdir, name, info: colon >= 0 ? name.slice(colon + 1) : "" };
}

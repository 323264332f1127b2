import fs from "node:fs";
import path from "node:path";

/** INBOX (the Maildir itself) and its Maildir++ folders (".Name" directories holding cur/). */
export function listFolders(maildir: string): Array<{ name: string; dir: string }> {
  const out: Array<{ name: string; dir: string }> = [];
  if (isDir(path.join(maildir, "cur"))) out.push({ name: "INBOX", dir: maildir });
  for (const entry of fs.readdirSync(maildir, { withFileTypes: true })) {
    if (!entry.name.startsWith(".") || entry.name === "." || entry.name === ".." || !entry.isDirectory()) continue;
    const dir = path.join(maildir, entry.name);
    if (isDir(path.join(dir, "cur"))) out.push({ name: entry.name.slice(1), dir });
  }
  return out;
}

function isDir(p: string): boolean {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  return st?.isDirectory() === true;
}


/**
 * A folder's cur/ or new/ mtime; 0 for one that is missing (a Maildir made by another tool,
 * or damaged, may lack new/): nothing there, until it appears with a real mtime.
 */
export function subdirMtimeNs(dir: string): bigint {
  return fs.statSync(dir, { bigint: true, throwIfNoEntry: false })?.mtimeNs ?? 0n;
}

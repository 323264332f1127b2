import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type { MailboxTask } from "../migrate/mailbox.js";

export class UsageError extends Error {}

// fast-glob only when a pattern is given: most runs name files or a list.
const require = createRequire(import.meta.url);
const glob = () => require("fast-glob") as typeof import("fast-glob");

/**
 * Mailboxes to work on: each argument is a file, or a glob pattern when it names no file;
 * --from-list adds "path user [folder]" lines (# starts a comment). A glob never yields
 * *.lock files (a delivery's dotlock) nor symlinks.
 */
export function resolveTasks(args: string[], opts: { user?: string; folder?: string; fromList?: string }): MailboxTask[] {
  const tasks: MailboxTask[] = [];
  for (const arg of args) {
    if (fs.existsSync(arg) || fs.lstatSync(arg, { throwIfNoEntry: false }) || !glob().isDynamicPattern(arg)) {
      tasks.push({ source: arg, user: opts.user ?? path.basename(arg), folder: opts.folder });
      continue;
    }
    const matches = glob().sync(arg, { onlyFiles: true, followSymbolicLinks: false, dot: false, absolute: false }).filter((f) => !f.endsWith(".lock")).sort();
    if (matches.length === 0) throw new UsageError(`no file matches ${arg}`);
    for (const file of matches) tasks.push({ source: file, user: path.basename(file), folder: opts.folder });
  }
  if (opts.fromList) tasks.push(...readList(opts.fromList));
  if (opts.user && tasks.length !== 1) throw new UsageError("--user names the user of exactly one mbox");
  if (tasks.length === 0) throw new UsageError("no mbox given: name files, glob patterns or --from-list FILE");
  return tasks;
}

function readList(file: string): MailboxTask[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--from-list ${file}: ${(err as Error).message}`);
  }
  const tasks: MailboxTask[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const fields = line.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) throw new UsageError(`${file}:${i + 1}: expected "path user [folder]", got ${JSON.stringify(raw)}`);
    tasks.push({ source: fields[0], user: fields[1], folder: fields[2] });
  });
  return tasks;
}

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { folderNameProblem, isInbox, userNameProblem } from "../maildir/layout.js";
import type { MailboxTask } from "../migrate/mailbox.js";

export class UsageError extends Error {}

// fast-glob only when a pattern is given: most runs name files or a list.
const require = createRequire(import.meta.url);
const glob = () => require("fast-glob") as typeof import("fast-glob");

/**
 * Whether a name in a mail spool belongs to a delivery agent's locking rather than to a
 * mailbox: a dot file (the temporary lock files of Dovecot, liblockfile and mailstore itself
 * are hidden), a `<mbox>.lock` dotlock, or Exim's "hitching post", the uniquely named file it
 * links to the dotlock while taking it (`<mbox>.lock.<host>.<time>.<pid>`), or procmail's
 * (`_<pid>.<time>.<host>` in its own base-64 digits, such as `_7IB.5TNBrB.mail`). Such a file
 * comes and goes within a delivery; taken for a mailbox, it would fail as one, or worse, leave
 * an empty Maildir for a user named after it.
 */
export function isLockFileName(name: string): boolean {
  return name.startsWith(".") || name.endsWith(".lock") || name.includes(".lock.") || PROCMAIL_HITCHING_POST.test(name);
}

const PROCMAIL_HITCHING_POST = /^_[-\w]+\.[-\w]+\../;

/**
 * Mailboxes to work on: each argument is a file, or a glob pattern when it names no file;
 * --from-list adds "path user [folder]" lines (tab-separated where a field holds a space; a
 * "#" at the start or after white space starts a comment). A glob never yields
 * lock files (isLockFileName, isMuttHitchingPost) nor symlinks.
 */
export function resolveTasks(args: string[], opts: { user?: string; folder?: string; fromList?: string }): MailboxTask[] {
  // Given on the command line, a bad name is the command's mistake, not a mailbox's.
  const userProblem = opts.user === undefined ? null : userNameProblem(opts.user);
  if (userProblem) throw new UsageError(`--user: ${userProblem}`);
  const folderProblem = opts.folder === undefined || isInbox(opts.folder) ? null : folderNameProblem(opts.folder);
  if (folderProblem) throw new UsageError(`--folder: ${folderProblem}`);
  const tasks: MailboxTask[] = [];
  for (const arg of args) {
    if (fs.existsSync(arg) || fs.lstatSync(arg, { throwIfNoEntry: false }) || !glob().isDynamicPattern(arg)) {
      tasks.push({ source: arg, user: opts.user ?? path.basename(arg), folder: opts.folder });
      continue;
    }
    for (const file of globFiles(arg)) tasks.push({ source: file, user: path.basename(file), folder: opts.folder });
  }
  if (opts.fromList) tasks.push(...readList(opts.fromList));
  if (opts.user && tasks.length !== 1) throw new UsageError("--user names the user of exactly one mbox");
  if (tasks.length === 0) throw new UsageError("no mbox given: name files, glob patterns or --from-list FILE");
  return tasks;
}

const MUTT_HITCHING_POST = /^.+\.[^.].*\.\d+$/;

/**
 * Whether the file is mutt_dotlock's hitching post for a mailbox beside it: an empty file
 * named `<mbox>.<host>.<pid>` (as it made `alice.vm.9624` for `alice` here, seen with strace),
 * which lives while mutt takes the dotlock. Only an empty file is passed over, so no mail is
 * ever left out on its name alone: a mailbox named like that that holds mail is taken.
 */
export function isMuttHitchingPost(file: string): boolean {
  const name = path.basename(file);
  if (!MUTT_HITCHING_POST.test(name)) return false;
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.size !== 0) return false;
  const dir = path.dirname(file);
  for (let dot = name.indexOf("."); dot > 0; dot = name.indexOf(".", dot + 1)) {
    if (fs.lstatSync(path.join(dir, name.slice(0, dot)), { throwIfNoEntry: false })?.isFile()) return true;
  }
  return false;
}

const isMailboxFile = (file: string) => !isLockFileName(path.basename(file)) && !isMuttHitchingPost(file);

/** Regular files (never symlinks, never lock files) matching a pattern; a usage error when none does. */
export function globFiles(pattern: string): string[] {
  const matches = glob().sync(pattern, { onlyFiles: true, followSymbolicLinks: false, dot: false, absolute: false }).filter(isMailboxFile).sort();
  if (matches.length === 0) throw new UsageError(`no file matches ${pattern}`);
  return matches;
}

/**
 * mbox files named by a directory (its regular files, not descending) or a glob pattern,
 * skipping lock files (isLockFileName, isMuttHitchingPost): the spool as `mailstore report
 * --mbox` sees it.
 */
export function mboxFiles(spec: string): string[] {
  const st = fs.lstatSync(spec, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    return fs
      .readdirSync(spec, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(spec, e.name))
      .filter(isMailboxFile)
      .sort();
  }
  if (st?.isFile()) return [spec];
  return globFiles(spec);
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
    // A comment starts a line or follows white space: a "#" inside a path or name is kept.
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    // Tab-separated where a line has a tab, so that paths and folder names may hold spaces
    // ("Sent Items"); else any white space separates.
    const fields = line.includes("\t") ? line.split(/\t+/).map((f) => f.trim()) : line.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) throw new UsageError(`${file}:${i + 1}: expected "path user [folder]" (tab-separated if a field holds a space), got ${JSON.stringify(raw)}`);
    tasks.push({ source: fields[0], user: fields[1], folder: fields[2] });
  });
  return tasks;
}

import fs from "node:fs";
import path from "node:path";
import { giveTo, maildirOwner } from "../maildir/dirs.js";
import { userMaildir } from "../maildir/layout.js";
import type { MigrateOptions } from "../migrate/mailbox.js";
import { fcntlLockBy } from "../util/fcntl-lock.js";
import { type IndexSummary, indexMaildirFlushedLater } from "./indexer.js";

export interface IndexResult extends Partial<IndexSummary> {
  user: string;
  status: "indexed" | "skipped" | "failed";
  /** Found current without opening it for writing (no folder changed since the last run). */
  unchanged?: boolean;
  seconds: number;
  error?: string;
}

export const INDEX_LOCK = "mailstore-index.lock";

/**
 * Runs `work` holding an exclusive fcntl lock on <maildir>/mailstore-index.lock, so two index
 * runs (or an index run and a relayout) never work in one mailbox at once. The kernel drops
 * the lock if the holder dies. Returns null if the lock stayed taken for `waitMs`. With
 * create false, a Maildir without the lock file (never indexed) runs `work` without it.
 */
export async function withIndexLock<T>(maildir: string, waitMs: number, work: () => T | Promise<T>, opts: { create?: boolean } = {}): Promise<T | null> {
  const lock = await lockIndex(maildir, waitMs, opts);
  if (!lock) return null;
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/**
 * Takes the index lock (see withIndexLock) and hands back its release; null if it stayed
 * taken for `waitMs`. The lock is the process's: worker threads it starts work under it.
 */
export async function lockIndex(maildir: string, waitMs: number, opts: { create?: boolean } = {}): Promise<{ release: () => Promise<void> } | null> {
  const create = opts.create !== false;
  let fd: number;
  try {
    fd = fs.openSync(path.join(maildir, INDEX_LOCK), fs.constants.O_RDWR | fs.constants.O_NOFOLLOW | (create ? fs.constants.O_CREAT : 0), 0o600);
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === "ENOENT") return { release: async () => undefined };
    throw err;
  }
  try {
    giveTo(fd, maildirOwner(maildir));
    if (!(await fcntlLockBy(fd, true, Date.now() + waitMs))) {
      fs.closeSync(fd);
      return null;
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  // Closing the descriptor releases the lock (POSIX drops a process's fcntl locks on a file
  // when it closes any descriptor of it): no unlock first, a trip through the thread pool.
  return { release: async () => fs.closeSync(fd) };
}

/** Indexes one user's Maildir; any error fails this user alone. */
export async function indexUser(user: string, opts: Pick<MigrateOptions, "root" | "fanout"> & { full?: boolean; lockWaitMs?: number }): Promise<IndexResult> {
  const started = Date.now();
  const maildir = userMaildir(opts.root, user, opts.fanout);
  const seconds = () => (Date.now() - started) / 1000;
  try {
    const summary = await withIndexLock(maildir, opts.lockWaitMs ?? 10_000, () => indexMaildirFlushedLater(maildir, { full: opts.full }));
    if (!summary) return { user, maildir, status: "skipped", error: `${maildir}: another mailstore index holds ${INDEX_LOCK}; skipped, the next run will index it`, seconds: seconds() };
    return { user, status: "indexed", ...summary, seconds: seconds() };
  } catch (err) {
    return { user, maildir, status: "failed", error: `${maildir}: ${(err as Error).message}`, seconds: seconds() };
  }
}

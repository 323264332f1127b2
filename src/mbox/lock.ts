import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fcntlLockBy } from "../util/fcntl-lock.js";
import { mayHold, noteHeld, noteReleased } from "../util/held-files.js";

export class LockTimeoutError extends Error {}

export interface SourceLock {
  /** Removes the dotlock. The fcntl lock goes when the caller closes the descriptor, as it must next. */
  release(): Promise<void>;
  /** Why the dotlock could not be taken (read-only spool, no permission), if so. */
  warning?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Locks an mbox as mail delivery agents do (Postfix local, procmail, Dovecot): a dotlock
 * <mbox>.lock created with the NFS-safe link() method, then a shared fcntl lock on the open
 * file, so no delivery can append while the file is read. Waits up to timeoutMs for each.
 * The dotlock holds "pid:host". One naming this host and a process that no longer exists
 * (a run killed with -9) is broken; any other is waited for, then the mailbox fails and a
 * later run retries it. The fcntl lock is released by closing fd (POSIX drops a process's
 * locks on a file when it closes any descriptor of it), right after release(): an explicit
 * unlock would be one more trip through the thread pool for each mailbox.
 */
export async function lockSource(mboxPath: string, fd: number, timeoutMs: number): Promise<SourceLock> {
  const deadline = Date.now() + timeoutMs;
  const dot = await takeDotlock(mboxPath, deadline);
  try {
    if (!(await fcntlLockBy(fd, false, deadline))) {
      throw new LockTimeoutError(`${mboxPath} is locked by another process (fcntl lock held); waited ${Math.round(timeoutMs / 1000)} s`);
    }
  } catch (err) {
    dot.release();
    throw err;
  }
  return { warning: dot.warning, release: async () => dot.release() };
}

async function takeDotlock(mboxPath: string, deadline: number): Promise<{ release: () => void; warning?: string }> {
  const lockPath = `${mboxPath}.lock`;
  // Hidden, as Dovecot names its own (.temp.host.pid.random): a spool listed or globbed
  // meanwhile (another shard's run, `mailstore report --mbox`) must not take it for a mailbox.
  const tmp = path.join(path.dirname(mboxPath), `.${path.basename(lockPath)}.${os.hostname()}.${process.pid}.${randomBytes(4).toString("hex")}`);
  mayHold();
  try {
    fs.writeFileSync(tmp, `${process.pid}:${os.hostname()}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return { release: () => undefined, warning: `could not create ${lockPath} (${code}); relying on the fcntl lock alone` };
    }
    throw err;
  }
  let ino = -1;
  try {
    // The dotlock, once linked, is this same file: one inode for both names.
    ino = fs.statSync(tmp).ino;
    noteHeld({ path: tmp, ino });
    for (;;) {
      try {
        fs.linkSync(tmp, lockPath);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        // On NFS link() can succeed yet report failure: the link count tells.
        if (fs.statSync(tmp).nlink === 2) break;
        if (breakIfOrphaned(lockPath)) continue;
        if (Date.now() >= deadline) {
          const age = ageOf(lockPath);
          throw new LockTimeoutError(`${mboxPath} is locked: ${lockPath} exists${age === null ? "" : ` (${age} s old)`}; a delivery or mail client holds it. Retry later, or remove it if it is stale`);
        }
        await sleep(200);
      }
    }
    noteHeld({ path: lockPath, ino });
    return {
      release: () => {
        try {
          if (fs.lstatSync(lockPath).ino === ino) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
        noteReleased({ path: lockPath, ino });
      },
    };
  } finally {
    fs.rmSync(tmp, { force: true });
    noteReleased({ path: tmp, ino });
  }
}

/** Removes a dotlock left by a dead process of this host; true if it did. */
function breakIfOrphaned(lockPath: string): boolean {
  let owner: string;
  try {
    owner = fs.readFileSync(lockPath, "utf8").trim();
  } catch {
    return false;
  }
  const m = /^(\d+):(.+)$/.exec(owner);
  if (!m || m[2] !== os.hostname() || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") return false;
  }
  try {
    // Only remove the very lock file read above.
    if (fs.readFileSync(lockPath, "utf8").trim() === owner) fs.unlinkSync(lockPath);
  } catch {
    // someone else removed it
  }
  return true;
}

function ageOf(file: string): number | null {
  try {
    return Math.round((Date.now() - fs.statSync(file).mtimeMs) / 1000);
  } catch {
    return null;
  }
}

import { createRequire } from "node:module";
import { nativeAddon } from "./native.js";

type OsLock = typeof import("os-lock");
let osLock: OsLock | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One try for the lock: true if taken. The addon's, or os-lock's (the thread pool) without it. */
async function tryLock(fd: number, exclusive: boolean): Promise<boolean> {
  const native = nativeAddon();
  if (native) return native.fcntlLock(fd, exclusive);
  // Loaded only here: with the addon, no thread needs os-lock's own native module.
  osLock ??= createRequire(import.meta.url)("os-lock") as OsLock;
  try {
    await osLock.lock(fd, { exclusive, immediate: true });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EAGAIN" && code !== "EACCES" && code !== "EBUSY") throw err;
    return false;
  }
}

/**
 * Takes an fcntl lock on the whole file, retrying every 100 ms until `deadline` (ms since the
 * epoch). Returns false if another process still held a conflicting lock then. The lock is
 * the process's, and goes when the process closes any descriptor of the file.
 */
export async function fcntlLockBy(fd: number, exclusive: boolean, deadline: number): Promise<boolean> {
  for (;;) {
    if (await tryLock(fd, exclusive)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

import { lock } from "os-lock";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes an fcntl lock on the whole file, retrying every 100 ms until `deadline` (ms since the
 * epoch). Returns false if another process still held a conflicting lock then.
 */
export async function fcntlLockBy(fd: number, exclusive: boolean, deadline: number): Promise<boolean> {
  for (;;) {
    try {
      await lock(fd, { exclusive, immediate: true });
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EACCES" && code !== "EBUSY") throw err;
      if (Date.now() >= deadline) return false;
      await sleep(100);
    }
  }
}

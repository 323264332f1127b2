import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { nativeAddon } from "../util/native.js";
import { fsyncDir, type Owner } from "./dirs.js";

const execFileAsync = promisify(execFile);

/**
 * durable: a batch of messages written to tmp/ is flushed to disk (one syncfs, or an fsync
 *          per file where syncfs is missing) before any of it is moved into new/ or cur/,
 *          and the directories are flushed after the move. A mailbox reported done is on disk.
 * none:    no flushing: as fast as the page cache; a power cut may lose or truncate files.
 */
export type SyncPolicy = "durable" | "none";

export interface StagedMessage {
  tmpName: string;
  finalName: string;
  subdir: "new" | "cur";
}

const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** Writes messages into one Maildir folder: tmp/ first, then moved into new/ or cur/. */
export class FolderWriter {
  private syncfsWorks = true;
  private renameWorks = true;
  /** The owner to give each file, unless a new file gets it anyway (it is us, and tmp/ is not setgid). */
  private readonly chownTo: Owner | undefined;

  constructor(
    readonly folderDir: string,
    readonly opts: { owner?: Owner; sync: SyncPolicy },
  ) {
    const owner = opts.owner;
    const setgid = ((fs.lstatSync(path.join(folderDir, "tmp"), { throwIfNoEntry: false })?.mode ?? 0) & 0o2000) !== 0;
    const ours = owner !== undefined && owner.uid === process.geteuid?.() && owner.gid === process.getegid?.() && !setgid;
    this.chownTo = ours ? undefined : owner;
  }

  tmpPath(tmpName: string): string {
    return path.join(this.folderDir, "tmp", tmpName);
  }

  open(tmpName: string): number {
    return fs.openSync(this.tmpPath(tmpName), WRITE_FLAGS, 0o600);
  }

  write(fd: number, chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
  }

  /**
   * Writes a whole small message to tmp/ on the thread pool, so file creation (most of the
   * cost of a Maildir delivery) proceeds on several cores while the caller reads on.
   */
  async writeWhole(tmpName: string, data: Buffer, mtime: Date): Promise<void> {
    const handle = await fs.promises.open(this.tmpPath(tmpName), WRITE_FLAGS, 0o600);
    try {
      await handle.write(data, 0, data.length, 0);
      if (this.chownTo) await handle.chown(this.chownTo.uid, this.chownTo.gid);
      await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
  }

  /** Sets owner and times (the IMAP INTERNALDATE is the mtime) and closes the file. */
  close(fd: number, mtime: Date): void {
    try {
      if (this.chownTo) fs.fchownSync(fd, this.chownTo.uid, this.chownTo.gid);
      fs.futimesSync(fd, mtime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Flushes staged files before they become visible. It runs beside the caller (a child
   * process or the thread pool), so the next batch can be written while this one reaches disk.
   */
  async flush(batch: StagedMessage[]): Promise<void> {
    if (this.opts.sync !== "durable" || batch.length === 0) return;
    if (this.syncfsWorks) {
      try {
        // coreutils' sync -f calls syncfs(2): one flush for the whole batch.
        await execFileAsync("sync", ["-f", path.join(this.folderDir, "tmp")]);
        return;
      } catch {
        this.syncfsWorks = false;
      }
    }
    for (const m of batch) {
      const handle = await fs.promises.open(this.tmpPath(m.tmpName), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * Moves staged files into new/ or cur/, never replacing a file that exists: one
   * renameat2(RENAME_NOREPLACE) each where the kernel and filesystem have it, else link()
   * then unlink() of the tmp/ name.
   */
  publish(batch: StagedMessage[]): void {
    const rename = this.renameWorks ? nativeAddon()?.renameNoReplace : undefined;
    for (const m of batch) {
      const from = this.tmpPath(m.tmpName);
      const to = path.join(this.folderDir, m.subdir, m.finalName);
      if (rename && this.renameWorks) {
        try {
          rename(from, to);
          continue;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "EINVAL" && code !== "ENOSYS") throw err;
          this.renameWorks = false;
        }
      }
      fs.linkSync(from, to);
      fs.unlinkSync(from);
    }
    if (this.opts.sync === "durable" && batch.length > 0) {
      fsyncDir(path.join(this.folderDir, "cur"));
      fsyncDir(path.join(this.folderDir, "new"));
    }
  }

  /** Removes tmp/ files left by an interrupted run of this source. */
  removeStale(prefix: string): number {
    let removed = 0;
    for (const name of fs.readdirSync(path.join(this.folderDir, "tmp"))) {
      if (name.startsWith(prefix)) {
        fs.unlinkSync(this.tmpPath(name));
        removed++;
      }
    }
    return removed;
  }
}

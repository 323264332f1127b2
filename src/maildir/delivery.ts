import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { nativeAddon } from "../util/native.js";
import { fsyncDir, type Owner } from "./dirs.js";

const execFileAsync = promisify(execFile);

/**
 * durable: a batch of staged messages is flushed to disk (one syncfs, or an fsync per file
 *          where syncfs is missing) before any of it is put into new/ or cur/, and what
 *          that changed is flushed after (native/delivery.c). A mailbox reported done is on disk.
 * none:    no flushing: as fast as the page cache; a power cut may lose or truncate files.
 */
export type SyncPolicy = "durable" | "none";

export interface StagedMessage {
  tmpName: string;
  finalName: string;
  subdir: "new" | "cur";
  /**
   * While the file has no name (written unnamed, see FolderWriter): its open descriptor, which
   * publish() links into place and closes, or discard() closes. Else -1: the file is tmp/<tmpName>.
   */
  fd: number;
}

/** A message whole in memory (its pieces in order), to be written in a group; its fd is set once written. */
export interface WholeMessage {
  staged: StagedMessage;
  pieces: Buffer[];
  mtime: Date;
}

const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/**
 * Writes messages into one Maildir folder: staged first, then put into new/ or cur/. The file
 * work runs on the thread pool, as one native job per group of messages (native/delivery.c),
 * or through fs callbacks where the addon is missing.
 *
 * A message written in a group is staged without a name where the filesystem allows it
 * (O_TMPFILE in tmp/), held open, and linked into new/ or cur/ by publish(): two directory
 * operations fewer than a file named in tmp/ and then renamed, and a crash leaves nothing in
 * tmp/. Elsewhere (no addon, NFS, no O_TMPFILE, a message streamed to its file, or the
 * descriptor table half full) it is tmp/<tmpName>, renamed by publish().
 */
export class FolderWriter {
  private syncfsWorks = true;
  private unnamedWorks: boolean | undefined;
  /** The owner to give each file, unless a new file gets it anyway (it is us, and tmp/ is not setgid). */
  private readonly chownTo: Owner | undefined;
  /** tmp/, joined once: a group's write (every 32 messages) would join it again. */
  private readonly tmpDir: string;

  constructor(
    readonly folderDir: string,
    readonly opts: { owner?: Owner; sync: SyncPolicy; /** false: always name files in tmp/ (tests) */ unnamed?: boolean },
  ) {
    const owner = opts.owner;
    this.tmpDir = path.join(folderDir, "tmp");
    const setgid = ((fs.lstatSync(this.tmpDir, { throwIfNoEntry: false })?.mode ?? 0) & 0o2000) !== 0;
    const ours = owner !== undefined && owner.uid === process.geteuid?.() && owner.gid === process.getegid?.() && !setgid;
    this.chownTo = ours ? undefined : owner;
  }

  /**
   * Whether groups are written unnamed: tried once, in tmp/, when the first group is written,
   * so that a run with nothing to deliver (a rerun) leaves tmp/ untouched.
   */
  get unnamed(): boolean {
    this.unnamedWorks ??= this.opts.unnamed !== false && (nativeAddon()?.unnamedFiles(this.tmpDir) ?? false);
    return this.unnamedWorks;
  }

  tmpPath(tmpName: string): string {
    return path.join(this.tmpDir, tmpName);
  }

  open(tmpName: string): number {
    return fs.openSync(this.tmpPath(tmpName), WRITE_FLAGS, 0o600);
  }

  write(fd: number, chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
  }

  /**
   * Writes a group of whole messages on the thread pool, so file creation (most of the cost
   * of a Maildir delivery) proceeds on other cores while the caller reads on. Once it is
   * done, each message's staged.fd says how it is held.
   */
  writeGroup(group: WholeMessage[]): Promise<void> {
    const native = nativeAddon();
    if (!native) return Promise.all(group.map((m) => this.writeOne(m))).then(() => undefined);
    const pieces: Buffer[] = [];
    const counts = new Uint32Array(group.length);
    const mtimes = new Float64Array(group.length);
    group.forEach((m, i) => {
      for (const piece of m.pieces) pieces.push(piece);
      counts[i] = m.pieces.length;
      mtimes[i] = m.mtime.getTime();
    });
    const names = group.map((m) => m.staged.tmpName);
    const uid = this.chownTo?.uid ?? -1;
    const gid = this.chownTo?.gid ?? -1;
    if (!this.unnamed) return native.writeFiles(this.tmpDir, names, pieces, counts, mtimes, uid, gid, false);
    return native.writeFiles(this.tmpDir, names, pieces, counts, mtimes, uid, gid, true).then((fds) => {
      for (let i = 0; i < group.length; i++) group[i].staged.fd = fds[i];
    });
  }

  /**
   * One message through fs callbacks, one promise per message: fs.promises' FileHandle costs
   * ~100 us of main-thread CPU per file (30,000 files: 4.6 s of CPU against 0.85 s this way).
   */
  private writeOne(m: WholeMessage): Promise<void> {
    const chownTo = this.chownTo;
    const data = m.pieces.length === 1 ? m.pieces[0] : Buffer.concat(m.pieces);
    return new Promise((resolve, reject) => {
      fs.open(this.tmpPath(m.staged.tmpName), WRITE_FLAGS, 0o600, (openErr, fd) => {
        if (openErr) return reject(openErr);
        const finish = (err: Error | null) => fs.close(fd, (closeErr) => (err ?? closeErr ? reject(err ?? closeErr) : resolve()));
        const times = () => fs.futimes(fd, m.mtime, m.mtime, finish);
        const writeFrom = (off: number): void =>
          fs.write(fd, data, off, data.length - off, off, (err, written) => {
            if (err) return finish(err);
            if (off + written < data.length) return writeFrom(off + written);
            if (chownTo) fs.fchown(fd, chownTo.uid, chownTo.gid, (e) => (e ? finish(e) : times()));
            else times();
          });
        writeFrom(0);
      });
    });
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
   * Flushes staged files before they become visible. It runs beside the caller (the thread
   * pool, or a child process), so the next batch can be written while this one reaches disk.
   */
  async flush(batch: StagedMessage[]): Promise<void> {
    if (this.opts.sync !== "durable" || batch.length === 0) return;
    if (this.syncfsWorks) {
      try {
        // syncfs(2): one flush for the whole batch (coreutils' sync -f without the addon).
        const native = nativeAddon();
        if (native) await native.syncFs(this.tmpDir);
        else await execFileAsync("sync", ["-f", this.tmpDir]);
        return;
      } catch {
        this.syncfsWorks = false;
      }
    }
    for (const m of batch) {
      if (m.fd >= 0) {
        await new Promise<void>((resolve, reject) => fs.fsync(m.fd, (err) => (err ? reject(err) : resolve())));
        continue;
      }
      const handle = await fs.promises.open(this.tmpPath(m.tmpName), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * Puts staged files into new/ or cur/ in order, never replacing a file that exists: an
   * unnamed one is linked there, a named one moved from tmp/ (renameat2(RENAME_NOREPLACE)
   * where the kernel and filesystem have it, else link() then unlink()); then (durable)
   * flushes what changed. On failure the files before the failing one are in place, which is
   * what the journal's settle() expects, and the rest are discarded: every descriptor of the
   * batch is closed either way.
   */
  async publish(batch: StagedMessage[]): Promise<void> {
    if (batch.length === 0) return;
    const durable = this.opts.sync === "durable";
    const native = nativeAddon();
    if (native) {
      const subdirs = Uint8Array.from(batch, (m) => (m.subdir === "cur" ? 1 : 0));
      const held = batch.some((m) => m.fd >= 0) ? Int32Array.from(batch, (m) => m.fd) : null;
      let job: Promise<void>;
      try {
        job = native.publishFiles(this.folderDir, batch.map((m) => m.tmpName), subdirs, batch.map((m) => m.finalName), durable, held);
      } catch (err) {
        this.discard(batch);
        throw err;
      }
      // The job has taken the descriptors and closes each: none may be closed twice.
      for (const m of batch) m.fd = -1;
      await job;
      return;
    }
    for (const m of batch) {
      const from = this.tmpPath(m.tmpName);
      fs.linkSync(from, path.join(this.folderDir, m.subdir, m.finalName));
      fs.unlinkSync(from);
    }
    if (durable) {
      fsyncDir(path.join(this.folderDir, "cur"));
      fsyncDir(path.join(this.folderDir, "new"));
    }
  }

  /** Closes the descriptors of unnamed files that will not be published: those files vanish. */
  discard(batch: readonly StagedMessage[]): void {
    for (const m of batch) {
      if (m.fd < 0) continue;
      const fd = m.fd;
      m.fd = -1;
      fs.closeSync(fd);
    }
  }

  /**
   * Removes tmp/ files left by an interrupted run of this source, and any probe file of
   * unnamedFiles() (native/delivery.c) that a kill left between its link and its unlink.
   */
  removeStale(prefix: string): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.tmpDir)) {
      if (name.startsWith(prefix) || name.startsWith("mailstore.probe.")) {
        fs.unlinkSync(this.tmpPath(name));
        removed++;
      }
    }
    return removed;
  }
}

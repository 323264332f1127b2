import fs from "node:fs";

export interface ReplaceOptions {
  mode: number;
  /** fsync the new file before it replaces the old one. */
  flush?: boolean;
  /** chown the new file (running as root for another user). */
  owner?: { uid: number; gid: number };
  /** The temporary file's path (default <file>.<pid>.tmp), which must lie beside `file`. */
  tmp?: string;
}

/**
 * Replaces a small file whole, so a reader never sees half of it: the text is written to a
 * temporary file beside it (created O_EXCL, never through a symlink; one left by a crashed
 * run of the same pid is removed first), owned and flushed as asked, then renamed into
 * place. On failure the temporary file is removed and the old file stays as it was.
 */
export function replaceFile(file: string, text: string, opts: ReplaceOptions): void {
  const tmp = opts.tmp ?? `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode);
  try {
    try {
      fs.writeFileSync(fd, text);
      if (opts.owner) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
      if (opts.flush) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

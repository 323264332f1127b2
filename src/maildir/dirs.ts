import fs from "node:fs";
import path from "node:path";

export interface Owner {
  uid: number;
  gid: number;
}

export class UnsafePathError extends Error {}

/**
 * Makes sure `target` exists as a real directory below `root`, creating missing levels.
 * Refuses a symlink or non-directory at any level below the root (the root itself is the
 * admin's to choose). Levels from `ownedFrom` down are created with `owner` and 0700;
 * levels above it (hash buckets) with 0711, so users can reach their own home only.
 */
export function ensureDirUnder(root: string, target: string, opts: { owner?: Owner; ownedFrom?: string } = {}): void {
  const rel = path.relative(root, target);
  if (rel.startsWith("..") || path.isAbsolute(rel)) throw new UnsafePathError(`${target} is outside the root ${root}`);
  let current = root;
  for (const part of rel === "" ? [] : rel.split(path.sep)) {
    current = path.join(current, part);
    const owned = opts.ownedFrom !== undefined && !path.relative(opts.ownedFrom, current).startsWith("..");
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (!st) {
      try {
        fs.mkdirSync(current, { mode: owned ? 0o700 : 0o711 });
        if (owned && opts.owner) fs.chownSync(current, opts.owner.uid, opts.owner.gid);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        st = fs.lstatSync(current);
      }
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(`refusing to write through a symlink: ${current}`);
    if (!st.isDirectory()) throw new UnsafePathError(`not a directory: ${current}`);
  }
}

/** Flushes a directory's entries (new names) to disk. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates a Maildir (or Maildir++ folder) with cur/, new/ and tmp/. */
export function ensureMaildir(root: string, dir: string, opts: { owner?: Owner; ownedFrom: string; subfolder: boolean }): void {
  for (const sub of ["cur", "new", "tmp"]) ensureDirUnder(root, path.join(dir, sub), opts);
  if (opts.subfolder) {
    // Maildir++ marks a folder with an empty "maildirfolder" file.
    const marker = path.join(dir, "maildirfolder");
    try {
      const fd = fs.openSync(marker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      if (opts.owner) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
      fs.closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** A SQLite database file and the side files SQLite may make beside it. */
export function dbFiles(dbPath: string): string[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`];
}

/**
 * Refuses a SQLite database path whose file or side files (-wal, -shm, -journal) are
 * symlinks or not regular files. SQLite follows symlinks; run as root in a user-owned Maildir,
 * a planted link would let it create or overwrite a file anywhere.
 */
export function assertPlainDbFiles(dbPath: string): void {
  for (const file of dbFiles(dbPath)) {
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (st && !st.isFile()) throw new UnsafePathError(`refusing to open ${file}: it is ${st.isSymbolicLink() ? "a symlink" : "not a regular file"}`);
  }
}

/**
 * Who the files mailstore keeps in a Maildir (journal, index, lock) belong to: the Maildir's
 * owner when running as root, as for the mail in it (a file left to root would be out of reach
 * of the mail server and of a front end reading the index as the mail user); undefined
 * otherwise, when they are the caller's anyway.
 */
export function maildirOwner(maildir: string): Owner | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  const st = fs.lstatSync(maildir);
  return { uid: st.uid, gid: st.gid };
}

/** Gives an open file to `owner` unless it has it already. */
export function giveTo(fd: number, owner: Owner | undefined): void {
  if (!owner) return;
  const st = fs.fstatSync(fd);
  if (st.uid !== owner.uid || st.gid !== owner.gid) fs.fchownSync(fd, owner.uid, owner.gid);
}

/**
 * Readies a SQLite database in a Maildir before SQLite opens it: refuses symlinks
 * (assertPlainDbFiles), creates the file (0600) if missing, and gives it and its side files
 * to `owner`. SQLite run as root makes its -wal, -shm and -journal files with the database
 * file's owner and mode, so later ones follow; those an earlier version left to root are
 * given over here.
 */
export function prepareDbFile(dbPath: string, owner: Owner | undefined): void {
  assertPlainDbFiles(dbPath);
  for (const file of dbFiles(dbPath)) {
    const main = file === dbPath;
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | (main ? fs.constants.O_CREAT : 0), 0o600);
    } catch (err) {
      if (!main && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    try {
      giveTo(fd, owner);
    } finally {
      fs.closeSync(fd);
    }
  }
}

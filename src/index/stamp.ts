import fs from "node:fs";
import path from "node:path";
import { openForReading } from "../util/read-file.js";
import { replaceFile } from "../util/replace-file.js";
import { INDEX_FILE } from "./files.js";
import { listFolders, subdirMtimeNs } from "./folders.js";

/**
 * What a mailbox looked like when its index was last brought up to date: each folder's cur/
 * and new/ mtimes (as stored in the index) and the index file's identity. A nightly run that
 * finds them all unchanged needs neither to open that index nor to start a worker for it: a
 * readdir and a few stats per mailbox, instead of a SQLite open.
 */
export interface Stamp {
  folders: [name: string, curNs: string, newNs: string][];
  /** The index file: inode, size, mtime (ns). */
  db: [number, number, string];
}

const mtimeNs = (dir: string) => String(subdirMtimeNs(dir));

/** The stamp of an index just closed, or null when a folder's mtime was too recent to trust. */
export function stampOf(maildir: string, folders: [string, string, string][]): Stamp | null {
  if (folders.some(([, cur, nu]) => cur === "" || nu === "")) return null;
  const st = fs.statSync(path.join(maildir, INDEX_FILE), { bigint: true });
  return { folders: [...folders].sort((a, b) => (a[0] < b[0] ? -1 : 1)), db: [Number(st.ino), Number(st.size), String(st.mtimeNs)] };
}

/** True when nothing in the mailbox nor its index changed since the stamp was taken. */
export function stampHolds(maildir: string, stamp: Stamp): boolean {
  try {
    const st = fs.lstatSync(path.join(maildir, INDEX_FILE), { bigint: true });
    if (!st.isFile() || Number(st.ino) !== stamp.db[0] || Number(st.size) !== stamp.db[1] || String(st.mtimeNs) !== stamp.db[2]) return false;
    const onDisk = listFolders(maildir);
    if (onDisk.length !== stamp.folders.length) return false;
    const byName = new Map(stamp.folders.map((f) => [f[0], f]));
    return onDisk.every((f) => {
      const s = byName.get(f.name);
      return s !== undefined && s[1] === mtimeNs(path.join(f.dir, "cur")) && s[2] === mtimeNs(path.join(f.dir, "new"));
    });
  } catch {
    return false;
  }
}

/**
 * The stamps of a tree, in <root>/.mailstore-index-state.json (one file per shard). Only a
 * speed-up: unreadable, it is replaced; without it every mailbox is opened and checked.
 * A JSON file rather than SQLite: the nightly run that finds nothing to do then never loads
 * SQLite at all. Two runs saving at once may lose one's new stamps (each rereads the file
 * just before replacing it); a stamp that is lost or old costs a check, never a wrong
 * answer, since it holds only while the index file it names is unchanged.
 */
export const STATE_FILE = ".mailstore-index-state.json";

type StateFile = { version: 1; stamps: Record<string, Stamp> };

export class StampStore {
  private stamps: Map<string, Stamp>;

  constructor(private readonly file: string) {
    this.stamps = StampStore.read(file);
  }

  /** The stamps in `file`; none if it is missing or unreadable. A symlink is refused. */
  private static read(file: string): Map<string, Stamp> {
    let text: string;
    try {
      const fd = openForReading(file);
      try {
        if (!fs.fstatSync(fd).isFile()) throw new Error(`${file}: not a regular file`);
        text = fs.readFileSync(fd, "utf8");
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return new Map();
      if (code === "ELOOP") throw new Error(`refusing to open ${file}: it is a symlink`);
      throw err;
    }
    try {
      const state = JSON.parse(text) as StateFile;
      return state?.version === 1 && typeof state.stamps === "object" ? new Map(Object.entries(state.stamps)) : new Map();
    } catch {
      return new Map();
    }
  }

  get(user: string): Stamp | undefined {
    return this.stamps.get(user);
  }

  /** Records new stamps; null forgets a user's (its index changed in a way not stamped). */
  save(updates: Map<string, Stamp | null>): void {
    if (updates.size === 0) return;
    // Reread: another run may have saved since this one started.
    const stamps = StampStore.read(this.file);
    for (const [user, stamp] of updates) {
      if (stamp) stamps.set(user, stamp);
      else stamps.delete(user);
    }
    const state: StateFile = { version: 1, stamps: Object.fromEntries(stamps) };
    replaceFile(this.file, JSON.stringify(state), { mode: 0o600 });
    this.stamps = stamps;
    // Earlier versions kept the stamps in SQLite, under the same name ending .sqlite.
    const old = this.file.replace(/\.json$/, ".sqlite");
    for (const suffix of old === this.file ? [] : ["", "-wal", "-shm"]) {
      if (fs.lstatSync(old + suffix, { throwIfNoEntry: false })?.isFile()) fs.rmSync(old + suffix, { force: true });
    }
  }
}

import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { assertPlainDbFiles } from "../maildir/dirs.js";
import { INDEX_FILE } from "./db.js";
import { listFolders } from "./folders.js";

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

const mtimeNs = (dir: string) => String(fs.statSync(dir, { bigint: true }).mtimeNs);

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
 * The stamps of a tree, in <root>/.mailstore-index-state.sqlite (one file per shard). Only a
 * speed-up: unreadable, it is replaced; without it every mailbox is opened and checked.
 */
export const STATE_FILE = ".mailstore-index-state.sqlite";

export class StampStore {
  private db: Database.Database;
  private stamps: Map<string, string>;

  constructor(file: string) {
    assertPlainDbFiles(file);
    try {
      this.db = StampStore.open(file);
    } catch {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) fs.rmSync(file + suffix, { force: true });
      this.db = StampStore.open(file);
    }
    const rows = this.db.prepare("SELECT user, stamp FROM stamps").all() as { user: string; stamp: string }[];
    this.stamps = new Map(rows.map((r) => [r.user, r.stamp]));
  }

  private static open(file: string): Database.Database {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 10000");
    db.exec("CREATE TABLE IF NOT EXISTS stamps (user TEXT PRIMARY KEY, stamp TEXT NOT NULL)");
    return db;
  }

  get(user: string): Stamp | undefined {
    const text = this.stamps.get(user);
    return text === undefined ? undefined : (JSON.parse(text) as Stamp);
  }

  /** Records new stamps; null forgets a user's (its index changed in a way not stamped). */
  save(updates: Map<string, Stamp | null>): void {
    const put = this.db.prepare("INSERT OR REPLACE INTO stamps (user, stamp) VALUES (?, ?)");
    const drop = this.db.prepare("DELETE FROM stamps WHERE user = ?");
    this.db.transaction(() => {
      for (const [user, stamp] of updates) {
        if (stamp) put.run(user, JSON.stringify(stamp));
        else if (this.stamps.has(user)) drop.run(user);
      }
    })();
  }

  close(): void {
    this.db.close();
  }
}

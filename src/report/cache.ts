import fs from "node:fs";
import Database from "better-sqlite3";
import { assertPlainDbFiles } from "../maildir/dirs.js";
import type { DirRecord } from "./records.js";

/** The report's scan cache, by default <root>/.mailstore-report.sqlite: directory records per home. */
export const REPORT_CACHE_FILE = ".mailstore-report.sqlite";
const CACHE_VERSION = "2";

export interface ScanCache {
  get(rel: string): DirRecord[] | undefined;
  /** Stores the homes scanned this time and forgets the homes no longer there. */
  save(homes: { rel: string; user: string; dirs: DirRecord[]; changed: boolean }[]): void;
  close(): void;
}

/**
 * Opens (or creates) the cache. `key` names what the records depend on (layout, options): a
 * cache made under another key is discarded. A cache that cannot be read is replaced: it only
 * ever saves time, so nothing in it is worth an error.
 */
export function openScanCache(file: string, key: string): ScanCache {
  assertPlainDbFiles(file);
  let db: Database.Database;
  try {
    db = open(file, key);
  } catch {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) fs.rmSync(file + suffix, { force: true });
    db = open(file, key);
  }
  const rows = db.prepare("SELECT rel, records FROM homes").all() as { rel: string; records: string }[];
  const cached = new Map(rows.map((r) => [r.rel, r.records]));
  return {
    get(rel) {
      const text = cached.get(rel);
      return text === undefined ? undefined : (JSON.parse(text) as DirRecord[]);
    },
    save(homes) {
      const upsert = db.prepare("INSERT OR REPLACE INTO homes (rel, user, records) VALUES (?, ?, ?)");
      const drop = db.prepare("DELETE FROM homes WHERE rel = ?");
      db.transaction(() => {
        const seen = new Set<string>();
        for (const h of homes) {
          seen.add(h.rel);
          if (h.changed || !cached.has(h.rel)) upsert.run(h.rel, h.user, JSON.stringify(h.dirs));
        }
        for (const rel of cached.keys()) if (!seen.has(rel)) drop.run(rel);
      })();
    },
    close() {
      db.close();
    },
  };
}

function open(file: string, key: string): Database.Database {
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 10000");
    db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE IF NOT EXISTS homes (rel TEXT PRIMARY KEY, user TEXT NOT NULL, records TEXT NOT NULL)");
    const stored = db.prepare("SELECT value FROM meta WHERE key = 'key'").pluck().get() as string | undefined;
    const want = `${CACHE_VERSION}:${key}`;
    if (stored !== want) {
      db.transaction(() => {
        db.exec("DELETE FROM homes");
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('key', ?)").run(want);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

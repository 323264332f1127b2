import path from "node:path";
import Database from "better-sqlite3";
import { assertPlainDbFiles } from "../maildir/dirs.js";

/**
 * The per-Maildir migration journal (<maildir>/mailstore-journal.sqlite).
 * A batch of messages is written to tmp/, flushed, recorded here as "pending" with its final
 * names, moved into new/ or cur/, then marked "done". After a crash, a pending row is done if
 * its file is in place and is delivered again otherwise, so every message lands exactly once.
 * Each row keeps the CRC-32 of the source up to the message's end: a rerun checks that this
 * prefix is unchanged before it continues after it.
 */
export const JOURNAL_FILE = "mailstore-journal.sqlite";
const SCHEMA_VERSION = "1";

export interface SourceIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

export interface SourceRow {
  id: number;
  path: string;
  folder: string;
  state: "running" | "done";
  identity: SourceIdentity | null;
}

export interface MessageRow {
  seq: number;
  offset: number;
  end: number;
  crc: number;
  name: string;
  subdir: "new" | "cur";
  size: number;
}

export class Journal {
  readonly db: Database.Database;

  constructor(maildir: string, opts: { durable: boolean; readonly?: boolean }) {
    assertPlainDbFiles(path.join(maildir, JOURNAL_FILE));
    this.db = new Database(path.join(maildir, JOURNAL_FILE), { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: 30_000 });
    if (opts.readonly) return;
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${opts.durable ? "FULL" : "NORMAL"}`);
    // Two sources of one user may open the journal at the same moment: set it up in one
    // IMMEDIATE transaction so only one of them creates it.
    this.db
      .transaction(() => {
        this.db.exec(`
          CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            folder TEXT NOT NULL,
            state TEXT NOT NULL,
            identity TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (path, folder)
          );
          CREATE TABLE IF NOT EXISTS messages (
            source_id INTEGER NOT NULL REFERENCES sources(id),
            seq INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            crc INTEGER NOT NULL,
            name TEXT NOT NULL,
            subdir TEXT NOT NULL,
            size INTEGER NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (source_id, seq)
          );
        `);
        this.db.prepare("INSERT OR IGNORE INTO meta VALUES ('schema', ?)").run(SCHEMA_VERSION);
      })
      .immediate();
    const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() as string;
    if (version !== SCHEMA_VERSION) throw new Error(`journal ${JOURNAL_FILE} has schema ${version}; this mailstore knows ${SCHEMA_VERSION}`);
  }

  close(): void {
    this.db.close();
  }

  source(sourcePath: string, folder: string): SourceRow | undefined {
    const row = this.db.prepare("SELECT id, path, folder, state, identity FROM sources WHERE path = ? AND folder = ?").get(sourcePath, folder) as
      | { id: number; path: string; folder: string; state: SourceRow["state"]; identity: string | null }
      | undefined;
    return row && { ...row, identity: row.identity ? (JSON.parse(row.identity) as SourceIdentity) : null };
  }

  sources(): SourceRow[] {
    const rows = this.db.prepare("SELECT id, path, folder, state, identity FROM sources ORDER BY id").all() as Array<{ id: number; path: string; folder: string; state: SourceRow["state"]; identity: string | null }>;
    return rows.map((row) => ({ ...row, identity: row.identity ? (JSON.parse(row.identity) as SourceIdentity) : null }));
  }

  start(sourcePath: string, folder: string): number {
    this.db
      .prepare("INSERT INTO sources (path, folder, state, updated_at) VALUES (?, ?, 'running', ?) ON CONFLICT (path, folder) DO UPDATE SET state = 'running', updated_at = excluded.updated_at")
      .run(sourcePath, folder, new Date().toISOString());
    return (this.source(sourcePath, folder) as SourceRow).id;
  }

  finish(id: number, identity: SourceIdentity): void {
    this.db.prepare("UPDATE sources SET state = 'done', identity = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(identity), new Date().toISOString(), id);
  }

  pending(id: number): MessageRow[] {
    return this.db.prepare(`SELECT seq, offset, "end", crc, name, subdir, size FROM messages WHERE source_id = ? AND state = 'pending' ORDER BY seq`).all(id) as MessageRow[];
  }

  /**
   * Settles a batch cut off by a crash. Files are moved into place in sequence order, so the
   * last pending row whose file is in place marks how far the batch got: it and every row
   * before it are done (an earlier file missing now was removed by someone after delivery);
   * the rows after it are forgotten and delivered again.
   */
  settle(id: number, delivered: (row: MessageRow) => boolean): { kept: number; dropped: number } {
    const rows = this.pending(id);
    let reached = -1;
    rows.forEach((row, i) => {
      if (delivered(row)) reached = i;
    });
    this.db.transaction(() => {
      if (reached >= 0) this.markDone(id, rows[0].seq, rows[reached].seq);
      this.db.prepare("DELETE FROM messages WHERE source_id = ? AND state = 'pending'").run(id);
    })();
    return { kept: reached + 1, dropped: rows.length - reached - 1 };
  }

  /** The last delivered message: where the next run continues. */
  last(id: number): MessageRow | undefined {
    return this.db.prepare(`SELECT seq, offset, "end", crc, name, subdir, size FROM messages WHERE source_id = ? ORDER BY seq DESC LIMIT 1`).get(id) as MessageRow | undefined;
  }

  delivered(id: number): MessageRow[] {
    return this.db.prepare(`SELECT seq, offset, "end", crc, name, subdir, size FROM messages WHERE source_id = ? AND state = 'done' ORDER BY seq`).all(id) as MessageRow[];
  }

  recordPending(id: number, rows: MessageRow[]): void {
    const insert = this.db.prepare(`INSERT INTO messages (source_id, seq, offset, "end", crc, name, subdir, size, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`);
    this.db.transaction(() => {
      for (const r of rows) insert.run(id, r.seq, r.offset, r.end, r.crc, r.name, r.subdir, r.size);
    })();
  }

  markDone(id: number, fromSeq: number, toSeq: number): void {
    this.db.prepare("UPDATE messages SET state = 'done' WHERE source_id = ? AND seq BETWEEN ? AND ?").run(id, fromSeq, toSeq);
  }
}

import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { assertPlainDbFiles, maildirOwner, type Owner, prepareDbFile } from "../maildir/dirs.js";
import { asWal, imageOf } from "../util/db-image.js";
import { bootId } from "../util/boot-id.js";
import { nativeAddon } from "../util/native.js";
import type { MessageUids } from "../mbox/imap-uids.js";

/**
 * The per-Maildir migration journal (<maildir>/mailstore-journal.sqlite).
 * A batch of messages is written to tmp/, flushed, recorded here as "pending" with its final
 * names, moved into new/ or cur/, then marked "done". After a crash, a pending message is done
 * if its file is in place and is delivered again otherwise (or, missing before one that is in
 * place after a restart, put back under its name: see holes()), so every message lands
 * exactly once. Each message keeps the CRC-32 of the source up to its end: a rerun checks that this
 * prefix is unchanged before it continues after it.
 *
 * One row per batch (its messages as a JSON array), not one per message: a row per message
 * cost the reading thread ~20 us a message (30,000 messages: ~0.6 s of a 4.7 s migration),
 * a row per batch ~1,000 times fewer statements. Schema 1 (a row per message) is converted
 * when a journal is opened for writing.
 */
export const JOURNAL_FILE = "mailstore-journal.sqlite";
const SCHEMA_VERSION = "2";

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
  /** The kernel's boot id when a run of this source last started (null: not Linux, or an older journal). */
  boot: string | null;
}

/** A delivered message; its X-UID, X-UIDL and (first message) folder base are what dovecot-uidlist is written from. */
export interface MessageRow extends MessageUids {
  seq: number;
  offset: number;
  end: number;
  crc: number;
  name: string;
  subdir: "new" | "cur";
  size: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    folder TEXT NOT NULL,
    state TEXT NOT NULL,
    identity TEXT,
    updated_at TEXT NOT NULL,
    boot TEXT,
    UNIQUE (path, folder)
  );
  CREATE TABLE IF NOT EXISTS batches (
    source_id INTEGER NOT NULL REFERENCES sources(id),
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    state TEXT NOT NULL,
    messages TEXT NOT NULL,
    PRIMARY KEY (source_id, first_seq)
  );
`;

let emptyJournal: Buffer | undefined;

/**
 * Creates a missing journal from a ready-made empty one in WAL mode (see linkNewFile in
 * native/delivery.c): true if it did. SQLite creating it instead (a rollback journal for the
 * schema, then the switch to WAL) flushes 8 times before the first message; this way twice.
 * False where the file exists, or the addon or unnamed files are missing: SQLite makes it then.
 */
function createFromImage(maildir: string, owner: Owner | undefined): boolean {
  const native = nativeAddon();
  if (!native || fs.existsSync(path.join(maildir, JOURNAL_FILE))) return false;
  emptyJournal ??= asWal(
    imageOf((db) => {
      db.exec(SCHEMA);
      db.prepare("INSERT INTO meta VALUES ('schema', ?)").run(SCHEMA_VERSION);
    }),
  );
  return native.linkNewFile(maildir, JOURNAL_FILE, emptyJournal, owner?.uid ?? -1, owner?.gid ?? -1) === true;
}

export class Journal {
  readonly db: Database.Database;
  /** A schema 1 journal opened read-only: one row per message, in table messages. */
  private perMessage = false;
  /** The query of sources' rows: a journal read as it is (verify) may be older than the boot column. */
  private sourceColumns = "SELECT id, path, folder, state, identity, boot FROM sources";
  /** Whether this open created the file, from the ready-made image (createFromImage). */
  readonly fromImage: boolean = false;

  constructor(
    maildir: string,
    private readonly opts: { durable: boolean; readonly?: boolean },
  ) {
    const file = path.join(maildir, JOURNAL_FILE);
    if (opts.readonly) assertPlainDbFiles(file);
    else {
      // prepareDbFile refuses symlinks after the image is linked: a link never follows one
      // nor replaces any name, so nothing was written through one.
      const owner = maildirOwner(maildir);
      this.fromImage = createFromImage(maildir, owner);
      prepareDbFile(file, owner);
    }
    this.db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: 30_000 });
    if (opts.readonly) {
      // Read as it is (verify): a schema 1 journal keeps its row per message.
      this.perMessage = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() === "1";
      if (!this.hasBootColumn()) this.sourceColumns = "SELECT id, path, folder, state, identity, NULL AS boot FROM sources";
      return;
    }
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${opts.durable ? "FULL" : "NORMAL"}`);
    // A journal that SQLite created (or an older one) is set up in one IMMEDIATE transaction:
    // two sources of one user may open it at the same moment, and only one may create it.
    if (!this.fromImage) {
      this.db
        .transaction(() => {
          this.db.exec(SCHEMA);
          this.db.prepare("INSERT OR IGNORE INTO meta VALUES ('schema', ?)").run(SCHEMA_VERSION);
          if (this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() === "1") this.upgradeFrom1();
          // Journals from before the boot column: an older mailstore reading this one ignores it.
          if (!this.hasBootColumn()) this.db.exec("ALTER TABLE sources ADD COLUMN boot TEXT");
        })
        .immediate();
    }
    const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() as string;
    if (version !== SCHEMA_VERSION) throw new Error(`journal ${JOURNAL_FILE} has schema ${version}; this mailstore knows ${SCHEMA_VERSION}`);
  }

  close(): void {
    this.db.close();
  }

  private hasBootColumn(): boolean {
    return (this.db.pragma("table_info(sources)") as Array<{ name: string }>).some((c) => c.name === "boot");
  }

  source(sourcePath: string, folder: string): SourceRow | undefined {
    const row = this.db.prepare(`${this.sourceColumns} WHERE path = ? AND folder = ?`).get(sourcePath, folder) as StoredSource | undefined;
    return row && sourceRowOf(row);
  }

  sources(): SourceRow[] {
    return (this.db.prepare(`${this.sourceColumns} ORDER BY id`).all() as StoredSource[]).map(sourceRowOf);
  }

  /**
   * Marks the source running. In a journal this open created, not flushed on its own
   * (synchronous OFF, for this commit only): the next flushed commit (the first batch's
   * pending record, before any of its messages is visible, or finish) takes it to disk with
   * its own, as a flush of the WAL file covers all of it; a crash before then loses only this
   * mark, which the next run makes again. Its first commit would flush three times (the new
   * WAL's header, its directory, the commit). Not in an older journal, whose WAL may be large
   * enough for this commit to checkpoint it, which must flush.
   */
  start(sourcePath: string, folder: string): number {
    const unflushed = this.opts.durable && this.fromImage;
    if (unflushed) this.db.pragma("synchronous = OFF");
    try {
      this.db
        .prepare("INSERT INTO sources (path, folder, state, updated_at, boot) VALUES (?, ?, 'running', ?, ?) ON CONFLICT (path, folder) DO UPDATE SET state = 'running', updated_at = excluded.updated_at, boot = excluded.boot")
        .run(sourcePath, folder, new Date().toISOString(), bootId());
    } finally {
      if (unflushed) this.db.pragma("synchronous = FULL");
    }
    return (this.source(sourcePath, folder) as SourceRow).id;
  }

  /**
   * Marks the source done (and, in the same transaction, the last batch that was published,
   * the one starting at `doneFirstSeq`): one flush instead of two.
   */
  finish(id: number, identity: SourceIdentity, doneFirstSeq: number | null = null): void {
    this.db.transaction(() => {
      if (doneFirstSeq !== null) this.markDone(id, doneFirstSeq);
      this.db.prepare("UPDATE sources SET state = 'done', identity = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(identity), new Date().toISOString(), id);
    })();
  }

  pending(id: number): MessageRow[] {
    return this.messages("SELECT first_seq, messages FROM batches WHERE source_id = ? AND state = 'pending' ORDER BY first_seq", id);
  }

  /**
   * The pending messages whose files are missing while a later one of their batch is in
   * place, and that last one in place. Files are put in place in sequence order, so with no
   * restart since (Linux: the same boot id) such a message was delivered and then removed by
   * someone. After a restart it may instead be a link the power cut lost: a filesystem that
   * does not write directory changes in order (ext2, ext4 without a journal) can keep a later
   * link and lose an earlier one (restoreHoles puts them back).
   */
  holes(id: number, delivered: (row: MessageRow) => boolean): { holes: MessageRow[]; lastInPlace: MessageRow | undefined } {
    const rows = this.pending(id);
    const missing: MessageRow[] = [];
    let lastInPlace: MessageRow | undefined;
    for (const row of rows) {
      if (!delivered(row)) missing.push(row);
      else lastInPlace = row;
    }
    return { holes: lastInPlace ? missing.filter((row) => row.seq < (lastInPlace as MessageRow).seq) : [], lastInPlace };
  }

  /**
   * Settles a batch cut off by a crash. Files are moved into place in sequence order, so the
   * last pending message whose file is in place marks how far the batch got: it and every
   * message before it are done (an earlier file missing now was removed by someone after
   * delivery); the messages after it are forgotten and delivered again.
   */
  settle(id: number, delivered: (row: MessageRow) => boolean): { kept: number; dropped: number } {
    const rows = this.pending(id);
    let reached = -1;
    rows.forEach((row, i) => {
      if (delivered(row)) reached = i;
    });
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM batches WHERE source_id = ? AND state = 'pending'").run(id);
      if (reached >= 0) this.insertBatch(id, rows.slice(0, reached + 1), "done");
    })();
    return { kept: reached + 1, dropped: rows.length - reached - 1 };
  }

  /** What last() would be after settle(id, delivered), without writing it (a dry run). */
  lastIfSettled(id: number, delivered: (row: MessageRow) => boolean): MessageRow | undefined {
    const rows = this.pending(id);
    for (let i = rows.length - 1; i >= 0; i--) if (delivered(rows[i])) return rows[i];
    return this.messages("SELECT first_seq, messages FROM batches WHERE source_id = ? AND state = 'done' ORDER BY first_seq DESC LIMIT 1", id).at(-1);
  }

  /** The last delivered message: where the next run continues. */
  last(id: number): MessageRow | undefined {
    return this.messages("SELECT first_seq, messages FROM batches WHERE source_id = ? ORDER BY first_seq DESC LIMIT 1", id).at(-1);
  }

  delivered(id: number): MessageRow[] {
    return [...this.deliveredRows(id)];
  }

  /** The delivered messages in order, read a page at a time: verify keeps none of them for long. */
  *deliveredRows(id: number): Generator<MessageRow> {
    if (this.perMessage) {
      const page = this.db.prepare(`SELECT seq, offset, "end", crc, name, subdir, size FROM messages WHERE source_id = ? AND state = 'done' AND seq > ? ORDER BY seq LIMIT 10000`);
      for (let after = -1; ; ) {
        const rows = page.all(id, after) as MessageRow[];
        if (rows.length === 0) return;
        yield* rows;
        after = rows[rows.length - 1].seq;
      }
    }
    const page = this.db.prepare("SELECT first_seq, messages FROM batches WHERE source_id = ? AND state = 'done' AND first_seq > ? ORDER BY first_seq LIMIT 10");
    for (let after = -1; ; ) {
      const batches = page.all(id, after) as Batch[];
      if (batches.length === 0) return;
      for (const batch of batches) yield* rowsOf(batch);
      after = batches[batches.length - 1].first_seq;
    }
  }

  /**
   * Records a batch (consecutive sequence numbers) as pending and, in the same transaction,
   * the batch before it (the one starting at `doneFirstSeq`) as done: one flush of the
   * journal per batch instead of two. A done mark lost to a crash is made by settle().
   */
  recordPending(id: number, rows: MessageRow[], doneFirstSeq: number | null = null): void {
    this.db.transaction(() => {
      if (doneFirstSeq !== null) this.markDone(id, doneFirstSeq);
      this.insertBatch(id, rows, "pending");
    })();
  }

  /** The pending batch that starts at `firstSeq` is in place. */
  markDone(id: number, firstSeq: number): void {
    this.db.prepare("UPDATE batches SET state = 'done' WHERE source_id = ? AND first_seq = ? AND state = 'pending'").run(id, firstSeq);
  }

  private insertBatch(id: number, rows: MessageRow[], state: "pending" | "done"): void {
    if (rows.length === 0) return;
    const first = rows[0].seq;
    rows.forEach((r, i) => {
      if (r.seq !== first + i) throw new Error(`journal: batch from ${first} is not consecutive at ${r.seq}`);
    });
    const messages = JSON.stringify(rows.map(packRow));
    this.db.prepare("INSERT INTO batches (source_id, first_seq, count, state, messages) VALUES (?, ?, ?, ?, ?)").run(id, first, rows.length, state, messages);
  }

  /** The messages of the batches a query returns (first_seq, messages), in order. */
  private messages(sql: string, id: number): MessageRow[] {
    return (this.db.prepare(sql).all(id) as Batch[]).flatMap(rowsOf);
  }

  /**
   * Schema 1 kept a row per message: its rows become batches (runs of consecutive messages
   * in one state, at most 1,000 each) and its table is dropped. Runs in the caller's
   * transaction.
   */
  private upgradeFrom1(): void {
    type OldRow = MessageRow & { source_id: number; state: "pending" | "done" };
    // Read a page at a time: a journal of a million messages is not held in memory at once.
    const page = this.db.prepare(`SELECT source_id, seq, offset, "end", crc, name, subdir, size, state FROM messages
      WHERE (source_id, seq) > (?, ?) ORDER BY source_id, seq LIMIT 10000`);
    let run: OldRow[] = [];
    const flush = () => {
      if (run.length > 0) this.insertBatch(run[0].source_id, run, run[0].state);
      run = [];
    };
    for (let after: [number, number] = [-1, -1]; ; ) {
      const rows = page.all(...after) as OldRow[];
      for (const row of rows) {
        const prev = run.at(-1);
        if (prev && (prev.source_id !== row.source_id || prev.state !== row.state || prev.seq + 1 !== row.seq || run.length === 1000)) flush();
        run.push(row);
      }
      if (rows.length === 0) break;
      const last = rows[rows.length - 1];
      after = [last.source_id, last.seq];
    }
    flush();
    this.db.exec("DROP TABLE messages");
    this.db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(SCHEMA_VERSION);
  }
}

type Batch = { first_seq: number; messages: string };

type StoredSource = Omit<SourceRow, "identity"> & { identity: string | null };

function sourceRowOf(row: StoredSource): SourceRow {
  return { ...row, identity: row.identity ? (JSON.parse(row.identity) as SourceIdentity) : null };
}

/**
 * A message as a JSON array: offset, end, crc, name, subdir, size, then only where there is
 * one the X-UID (0: none), the X-UIDL ("": none) and the base [validity, last, fromHeader 1/0].
 * Older journals' six-field rows read the same; an older mailstore ignores the rest.
 */
type PackedRow = [number, number, number, string, "new" | "cur", number, number?, string?, [number, number, number]?];

function packRow(r: MessageRow): PackedRow {
  const packed: PackedRow = [r.offset, r.end, r.crc, r.name, r.subdir, r.size];
  if (r.uid === undefined && r.uidl === undefined && r.base === undefined) return packed;
  packed.push(r.uid ?? 0, r.uidl ?? "");
  if (r.base) packed.push([r.base.validity, r.base.last, r.base.fromHeader ? 1 : 0]);
  return packed;
}

function rowsOf(batch: Batch): MessageRow[] {
  return (JSON.parse(batch.messages) as PackedRow[]).map(([offset, end, crc, name, subdir, size, uid, uidl, base], i) => {
    const row: MessageRow = { seq: batch.first_seq + i, offset, end, crc, name, subdir, size };
    if (uid) row.uid = uid;
    if (uidl) row.uidl = uidl;
    if (base) row.base = { validity: base[0], last: base[1], fromHeader: base[2] === 1 };
    return row;
  });
}

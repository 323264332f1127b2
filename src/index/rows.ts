import type Database from "better-sqlite3";
import type { MessageFile } from "../maildir/scan.js";
import { startsWithField } from "../util/rfc5322.js";
import { type IndexedHeaders, parseHeaders } from "./headers.js";
import type { MessageHead } from "./heads.js";
import type { IndexSummary } from "./indexer.js";

// The messages table as the indexer and the index feed write it: one row per message file,
// built from its name and header block; the folder's stat row recomputed from those rows.

export function flagLetters(info: string): string {
  return info.startsWith("2,") ? info.slice(2).replace(/[^A-Z]/g, "") : "";
}

export interface FolderRow {
  id: number;
  name: string;
  uid_validity: number;
  cur_mtime_ns: string;
  new_mtime_ns: string;
}

export function createFolder(db: Database.Database, name: string): FolderRow {
  // UIDVALIDITY: the creation time, as Dovecot does; kept for as long as the folder's rows live.
  const validity = Math.floor(Date.now() / 1000);
  const info = db.prepare("INSERT INTO folders (name, uid_validity, uid_next) VALUES (?, ?, 1)").run(name, validity);
  return { id: Number(info.lastInsertRowid), name, uid_validity: validity, cur_mtime_ns: "", new_mtime_ns: "" };
}

export interface StoredFile {
  uid: number;
  base: string;
  subdir: string;
  info: string;
}

// Rows a page. Re-indexing a changed folder of a million messages peaked at 398 MB with
// pages of 50,000, 230 MB with 10,000 (and took 3.1 s against 3.3 s), 205 MB with 4,000 (3.2 s).
const PAGE = 10_000;

/**
 * A folder's stored file names, a page of rows at a time, so that a caller holds one page
 * and not the folder's rows. Read as one "/"-joined string a page (no file name holds a
 * "/"): better-sqlite3 makes an object per row otherwise, which costs more than twice as much
 * (30,000 rows: ~60 ms against ~140 ms). A page that does not split into whole rows (a name
 * with "/" written by something else) is read again as objects.
 */
export function* storedFilePages(db: Database.Database, folderId: number, pageRows = PAGE): Generator<StoredFile[]> {
  const page = db
    .prepare(`SELECT group_concat(uid || '/' || base || '/' || subdir || '/' || info, '/') FROM (SELECT uid, base, subdir, info FROM messages WHERE folder_id = ? AND uid > ? ORDER BY uid LIMIT ${pageRows})`)
    .pluck();
  for (let after = 0; ; ) {
    const joined = page.get(folderId, after) as string | null;
    if (joined === null) return;
    const fields = joined.split("/");
    let rows: StoredFile[] = [];
    if (fields.length % 4 === 0) {
      for (let i = 0; i < fields.length; i += 4) rows.push({ uid: Number(fields[i]), base: fields[i + 1], subdir: fields[i + 2], info: fields[i + 3] });
    }
    if (rows.length === 0 || rows.some((r) => !Number.isSafeInteger(r.uid) || r.uid <= after || (r.subdir !== "new" && r.subdir !== "cur"))) {
      // Prepared only here: nearly every page splits, and a prepare costs a schema lookup.
      rows = db.prepare(`SELECT uid, base, subdir, info FROM messages WHERE folder_id = ? AND uid > ? ORDER BY uid LIMIT ${pageRows}`).all(folderId, after) as StoredFile[];
    }
    for (const row of rows) if (row.uid > after) after = row.uid;
    yield rows;
    if (rows.length < pageRows) return;
  }
}

export const UID_NEXT = "SELECT uid_next FROM folders WHERE id = ?";
export const SET_UID_NEXT = "UPDATE folders SET uid_next = ? WHERE id = ?";
/** How many of a folder's rows from a UID on are of files without a readable header (a batch just added natively). */
export const BROKEN_FROM = "SELECT COALESCE(SUM(broken), 0) FROM messages WHERE folder_id = ? AND uid >= ?";

// Positional parameters: binding by name costs half as much again per row.
export const INSERT_MESSAGE = `INSERT INTO messages (folder_id, uid, base, subdir, info, flags, size, received, date, from_addr, to_addr, cc_addr, subject, message_id, in_reply_to, refs, has_attachments, broken)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

type MessageRow = ReturnType<typeof readMessage>;

export function rowValues(r: MessageRow, folderId: number, uid: number): unknown[] {
  return [folderId, uid, r.base, r.subdir, r.info, r.flags, r.size, r.received, r.date, r.from, r.to, r.cc, r.subject, r.messageId, r.inReplyTo, r.references, r.hasAttachments, r.broken];
}

const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/m;

/**
 * Whether a header block holds at least one header field line (broken otherwise: empty,
 * binary, or a bare body). Nearly every message starts with one, which is checked on the
 * bytes; only the others are decoded and searched.
 */
export function hasHeaderField(block: Buffer): boolean {
  return startsWithField(block) || FIELD_LINE.test(block.toString("latin1"));
}

/** A message's row, from its head: read from the file, or given by the caller that just wrote it. */
export function readMessage(entry: MessageFile, summary: IndexSummary, head: MessageHead) {
  const sized = /,S=(\d+)/.exec(entry.name);
  const size = sized ? Number(sized[1]) : head.size;
  let headers: IndexedHeaders | null = null;
  let broken = head.failed ? 1 : 0;
  if (!broken) {
    try {
      headers = parseHeaders(head.block);
      if (!hasHeaderField(head.block)) broken = 1;
    } catch {
      broken = 1;
    }
  }
  if (broken) summary.broken++;
  const h = headers ?? parseHeaders(Buffer.alloc(0));
  return {
    base: entry.base,
    subdir: entry.subdir,
    info: entry.info,
    flags: flagLetters(entry.info),
    size,
    received: head.received,
    date: h.date,
    from: h.from,
    to: h.to,
    cc: h.cc,
    subject: h.subject,
    messageId: h.messageId,
    inReplyTo: h.inReplyTo,
    references: h.references,
    hasAttachments: h.hasAttachments === null ? null : h.hasAttachments ? 1 : 0,
    broken,
  };
}


/** A stat row's columns, from the message rows selected (SUM of a comparison counts the rows where it holds). */
const STATS_OF_ROWS = `COUNT(*) AS messages, COALESCE(SUM(size), 0) AS bytes, COALESCE(SUM(instr(flags, 'S') = 0), 0) AS unseen,
  COALESCE(SUM(instr(flags, 'F') > 0), 0) AS flagged, COALESCE(SUM(instr(flags, 'T') > 0), 0) AS deleted,
  COALESCE(SUM(subdir = 'new'), 0) AS recent, MIN(received) AS oldest, MAX(received) AS newest`;

/** The folder's stat row, recomputed from its message rows so the two never disagree. */
export function updateStats(db: Database.Database, folderId: number): void {
  db.prepare(`UPDATE folders SET (messages, bytes, unseen, flagged, deleted, recent, oldest, newest) = (
      SELECT ${STATS_OF_ROWS} FROM messages WHERE folder_id = @id)
    WHERE id = @id`).run({ id: folderId });
}

/**
 * The statement that adds the message rows from UID @from on to the folder's stat row, for a
 * writer that only adds rows (the index feed): the same row stays equal to a recount
 * without one. (SQLite's MIN and MAX of several values are NULL if any is: oldest and newest
 * are NULL for a folder without rows.)
 */
export function statsAdder(db: Database.Database): Database.Statement<{ id: number; from: number }> {
  return db.prepare(`UPDATE folders SET (messages, bytes, unseen, flagged, deleted, recent, oldest, newest) = (
      SELECT f.messages + s.messages, f.bytes + s.bytes, f.unseen + s.unseen, f.flagged + s.flagged, f.deleted + s.deleted, f.recent + s.recent,
        COALESCE(MIN(f.oldest, s.oldest), f.oldest, s.oldest), COALESCE(MAX(f.newest, s.newest), f.newest, s.newest)
      FROM folders f, (SELECT ${STATS_OF_ROWS} FROM messages WHERE folder_id = @id AND uid >= @from) s WHERE f.id = @id)
    WHERE id = @id`);
}

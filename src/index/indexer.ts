import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { type MessageFile, messageFileOf, messageFiles } from "../maildir/scan.js";
import { envNumber } from "../util/env.js";
import { startsWithField } from "../util/rfc5322.js";
import { type OpenedIndex, openIndex } from "./db.js";
import { listFolders } from "./folders.js";
import { type IndexedHeaders, parseHeaders } from "./headers.js";
import { type MessageHead, readHeads } from "./heads.js";
import { type Stamp, stampOf } from "./stamp.js";

export { listFolders };

export interface IndexSummary {
  maildir: string;
  folders: number;
  /** Folders whose cur/ and new/ had not changed: not listed, not opened. */
  unchangedFolders: number;
  added: number;
  /** Files renamed since the last run (flags changed): updated without reading them. */
  renamed: number;
  removed: number;
  /** Message files that could not be read or hold no header: indexed with what could be read. */
  broken: number;
  /** Folders that got a new UIDVALIDITY (their history was lost). */
  uidValidityChanged: string[];
  /** A damaged index that was moved aside, and why. */
  setAside: string | null;
  /** What the next run compares with to skip this mailbox unopened (null: a folder changed too recently to trust). */
  stamp: Stamp | null;
}

const BATCH = 1000;

function mtimeNs(dir: string): bigint {
  return fs.statSync(dir, { bigint: true }).mtimeNs;
}

/** Maildir names sort by delivery time, then the M (microsecond or sequence) field. */
function sortByDelivery(entries: MessageFile[]): MessageFile[] {
  const keyed = entries.map((e) => {
    const m = /^(\d+)\.M(\d+)/.exec(e.base);
    return { e, secs: m ? Number(m[1]) : Number.parseInt(e.base, 10) || 0, micro: m ? Number(m[2]) : 0 };
  });
  keyed.sort((a, b) => a.secs - b.secs || a.micro - b.micro || (a.e.base < b.e.base ? -1 : a.e.base > b.e.base ? 1 : 0));
  return keyed.map((k) => k.e);
}

function flagLetters(info: string): string {
  return info.startsWith("2,") ? info.slice(2).replace(/[^A-Z]/g, "") : "";
}

/**
 * Brings a mailbox's index up to date with its Maildir. A folder whose cur/ and new/ mtimes
 * equal the stored ones is skipped; a directory modified within a second of the scan keeps no
 * stored mtime (a change in the same second would not move it again), so the next run looks.
 * In a changed folder, new names are parsed, renamed ones (flags) updated, vanished removed.
 * `full` re-reads every message, keeping UIDs.
 */
export function indexMaildir(maildir: string, opts: { full?: boolean } = {}): IndexSummary {
  const opened = openMailboxIndex(maildir, opts);
  return stamped(withIndex(opened, () => syncIndex(opened.db, maildir, { ...opts, setAside: opened.setAside })));
}

/**
 * indexMaildir for a caller with more mailboxes to do: a new index is written out and flushed
 * on the thread pool, so the caller's next mailbox can be worked on during that wait.
 */
export async function indexMaildirFlushedLater(maildir: string, opts: { full?: boolean } = {}): Promise<IndexSummary> {
  const opened = openMailboxIndex(maildir, opts);
  return stamped(await withIndexFlushedLater(opened, () => syncIndex(opened.db, maildir, { ...opts, setAside: opened.setAside })));
}

function openMailboxIndex(maildir: string, opts: { full?: boolean }) {
  return openIndex(maildir, { deepCheck: opts.full === true, buildInMemory: () => countMessages(maildir) <= memoryBuildLimit() });
}

/**
 * The largest mailbox (in messages) whose new index is built in memory: ~0.5 KB a message,
 * so at most ~25 MB, held twice while it is written out. MAILSTORE_INDEX_MEMORY_MAX_MESSAGES
 * overrides it (tests use 0 to build on disk).
 */
function memoryBuildLimit(): number {
  return envNumber("MAILSTORE_INDEX_MEMORY_MAX_MESSAGES", 50_000);
}

/** Entries in the cur/ and new/ of every folder: a listing, no stat. */
function countMessages(maildir: string): number {
  let total = 0;
  for (const folder of listFolders(maildir)) for (const sub of ["cur", "new"]) total += fs.readdirSync(path.join(folder.dir, sub)).length;
  return total;
}

/** The summary with its stamp, taken once the index is closed (the stamp holds the file's stat). */
export function stamped(synced: SyncedIndex): IndexSummary {
  return { ...synced.summary, stamp: stampOf(synced.summary.maildir, synced.folderMtimes) };
}

export interface SyncedIndex {
  summary: IndexSummary;
  /** Each folder's stored cur/ and new/ mtimes, for the stamp. */
  folderMtimes: [string, string, string][];
}

/** Runs `work` on an opened index, then closes it (a new one is published, or discarded on failure). */
export function withIndex<T>(opened: OpenedIndex, work: () => T): T {
  let complete = false;
  try {
    const result = work();
    complete = true;
    return result;
  } finally {
    if (!opened.building) opened.db.close();
    else if (complete) opened.building.publish();
    else opened.building.discard();
  }
}

/** withIndex, with a new index written out and flushed off this thread (publishLater). */
export async function withIndexFlushedLater<T>(opened: OpenedIndex, work: () => T): Promise<T> {
  if (!opened.building) return withIndex(opened, work);
  let result: T;
  try {
    result = work();
  } catch (err) {
    opened.building.discard();
    throw err;
  }
  await opened.building.publishLater();
  return result;
}

/** indexMaildir's work on an index already open; stamped() once it is closed. */
export function syncIndex(db: Database.Database, maildir: string, opts: { full?: boolean; setAside?: string | null } = {}): SyncedIndex {
  const setAside = opts.setAside ?? null;
  const summary: IndexSummary = { ...emptySummary(maildir), setAside };
  const stored: [string, string, string][] = [];
  const scanStart = BigInt(Date.now()) * 1_000_000n;
  const onDisk = listFolders(maildir);
  summary.folders = onDisk.length;
  const known = new Map((db.prepare("SELECT id, name, uid_validity, cur_mtime_ns, new_mtime_ns FROM folders").all() as FolderRow[]).map((f) => [f.name, f]));
  for (const folder of onDisk) {
    let row = known.get(folder.name);
    known.delete(folder.name);
    if (!row) {
      row = createFolder(db, folder.name);
      if (setAside) summary.uidValidityChanged.push(folder.name);
    }
    const cur = mtimeNs(path.join(folder.dir, "cur"));
    const nu = mtimeNs(path.join(folder.dir, "new"));
    if (!opts.full && row.cur_mtime_ns === String(cur) && row.new_mtime_ns === String(nu)) {
      summary.unchangedFolders++;
      stored.push([folder.name, row.cur_mtime_ns, row.new_mtime_ns]);
      continue;
    }
    syncFolder(db, row.id, folder.dir, opts.full === true, summary);
    const settled = (t: bigint) => (t < scanStart - 1_000_000_000n ? String(t) : "");
    db.prepare("UPDATE folders SET cur_mtime_ns = ?, new_mtime_ns = ? WHERE id = ?").run(settled(cur), settled(nu), row.id);
    stored.push([folder.name, settled(cur), settled(nu)]);
  }
  // Folders gone from disk take their messages with them.
  for (const gone of known.values()) db.prepare("DELETE FROM folders WHERE id = ?").run(gone.id);
  // A run that changed nothing still records when it looked, without a flush to disk:
  // losing that note in a power cut costs nothing, and the nightly no-change run stays cheap.
  if (summary.added + summary.renamed + summary.removed === 0 && summary.unchangedFolders === summary.folders) db.pragma("synchronous = OFF");
  db.prepare("INSERT INTO meta VALUES ('indexed_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(new Date().toISOString());
  return { summary, folderMtimes: stored };
}

/** A message just delivered, as its writer knows it: no need to stat or read the file. */
export interface FedMessage {
  name: string;
  subdir: "new" | "cur";
  /** Its bytes, and its mtime in ms (as set on the file: whole seconds, so exactly what a stat gives). */
  size: number;
  received: number;
  header: Uint8Array;
}

/**
 * Adds rows for messages just delivered into the folder at `folderDir`, in delivery order,
 * from what the caller already holds: the rows are those a scan would make (same parse, the
 * size and mtime the caller gave the file), UIDs from uid_next. A name already indexed is
 * left alone; a file gone or renamed since is settled by the next syncIndex. The
 * folder's stored mtimes are not touched, so the next syncIndex lists the folder and settles
 * anything else that changed (and the folder's counts). The folder is looked up and the
 * statements prepared once: the returned function takes one batch at a time.
 */
export function messageAppender(db: Database.Database, maildir: string, folderDir: string): (messages: FedMessage[]) => number {
  const folder = listFolders(maildir).find((f) => f.dir === folderDir);
  if (!folder) throw new Error(`${folderDir}: not a folder of ${maildir}`);
  const id = (db.prepare("SELECT id FROM folders WHERE name = ?").pluck().get(folder.name) as number | undefined) ?? createFolder(db, folder.name).id;
  const insert = db.prepare(`${INSERT_MESSAGE} ON CONFLICT (folder_id, base) DO NOTHING`);
  const uidNext = db.prepare(UID_NEXT).pluck();
  const advance = db.prepare(SET_UID_NEXT);
  const summary = emptySummary(maildir);
  return (messages) => {
    let added = 0;
    db.transaction(() => {
      let uid = uidNext.get(id) as number;
      for (const m of messages) {
        const block = Buffer.from(m.header.buffer, m.header.byteOffset, m.header.byteLength);
        const row = readMessage(messageFileOf(m.name, m.subdir), summary, { block, size: m.size, received: m.received, failed: false });
        if (insert.run(...rowValues(row, id, uid)).changes > 0) {
          uid++;
          added++;
        }
      }
      advance.run(uid, id);
    })();
    return added;
  };
}

/** A summary with nothing counted yet. */
export function emptySummary(maildir: string): IndexSummary {
  return { maildir, folders: 0, unchangedFolders: 0, added: 0, renamed: 0, removed: 0, broken: 0, uidValidityChanged: [], setAside: null, stamp: null };
}

interface FolderRow {
  id: number;
  name: string;
  uid_validity: number;
  cur_mtime_ns: string;
  new_mtime_ns: string;
}

function createFolder(db: Database.Database, name: string): FolderRow {
  // UIDVALIDITY: the creation time, as Dovecot does; kept for as long as the folder's rows live.
  const validity = Math.floor(Date.now() / 1000);
  const info = db.prepare("INSERT INTO folders (name, uid_validity, uid_next) VALUES (?, ?, 1)").run(name, validity);
  return { id: Number(info.lastInsertRowid), name, uid_validity: validity, cur_mtime_ns: "", new_mtime_ns: "" };
}

interface StoredFile {
  uid: number;
  base: string;
  subdir: string;
  info: string;
}

const PAGE = 50_000;

/**
 * A folder's stored file names. Read as one "/"-joined string a page of rows (no file name
 * holds a "/"): better-sqlite3 makes an object per row otherwise, which costs more than twice
 * as much (30,000 rows: ~60 ms against ~140 ms), and the final settle of a migration reads
 * them all. A page that does not split into whole rows (a name with "/" written by something
 * else) is read again as objects.
 */
export function storedFiles(db: Database.Database, folderId: number, pageRows = PAGE): StoredFile[] {
  const page = db
    .prepare(`SELECT group_concat(uid || '/' || base || '/' || subdir || '/' || info, '/') FROM (SELECT uid, base, subdir, info FROM messages WHERE folder_id = ? AND uid > ? ORDER BY uid LIMIT ${pageRows})`)
    .pluck();
  const files: StoredFile[] = [];
  for (let after = 0; ; ) {
    const joined = page.get(folderId, after) as string | null;
    if (joined === null) return files;
    const fields = joined.split("/");
    let rows: StoredFile[] = [];
    if (fields.length % 4 === 0) {
      for (let i = 0; i < fields.length; i += 4) rows.push({ uid: Number(fields[i]), base: fields[i + 1], subdir: fields[i + 2], info: fields[i + 3] });
    }
    if (rows.length === 0 || rows.some((r) => !Number.isSafeInteger(r.uid) || r.uid <= after || (r.subdir !== "new" && r.subdir !== "cur"))) {
      // Prepared only here: nearly every page splits, and a prepare costs a schema lookup.
      rows = db.prepare(`SELECT uid, base, subdir, info FROM messages WHERE folder_id = ? AND uid > ? ORDER BY uid LIMIT ${pageRows}`).all(folderId, after) as StoredFile[];
    }
    for (const row of rows) {
      files.push(row);
      if (row.uid > after) after = row.uid;
    }
    if (rows.length < pageRows) return files;
  }
}

function syncFolder(db: Database.Database, folderId: number, dir: string, full: boolean, summary: IndexSummary): void {
  const disk = messageFiles(dir);
  const rows = storedFiles(db, folderId);
  // Prepared when first needed: a statement costs a schema lookup, and a first index of a
  // small mailbox (or a night with one new message) needs few of them.
  const statement = (sql: string) => {
    let prepared: Database.Statement | undefined;
    return () => (prepared ??= db.prepare(sql));
  };
  const remove = statement("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
  const rename = statement("UPDATE messages SET subdir = ?, info = ?, flags = ? WHERE folder_id = ? AND uid = ?");
  const refresh = statement(`UPDATE messages SET subdir = @subdir, info = @info, flags = @flags, size = @size, received = @received, date = @date, from_addr = @from, to_addr = @to, cc_addr = @cc,
    subject = @subject, message_id = @messageId, in_reply_to = @inReplyTo, refs = @references, has_attachments = @hasAttachments, broken = @broken WHERE folder_id = @folder AND uid = @uid`);

  const work: Array<() => void> = [];
  for (const row of rows) {
    const entry = disk.get(row.base);
    if (!entry) {
      work.push(() => remove().run(folderId, row.uid));
      summary.removed++;
    } else {
      disk.delete(row.base);
      if (full) {
        work.push(() => refresh().run({ ...readMessage(entry, summary, readHeads(dir, [fileOf(entry)])[0]), folder: folderId, uid: row.uid }));
      } else if (entry.subdir !== row.subdir || entry.info !== row.info) {
        work.push(() => rename().run(entry.subdir, entry.info, flagLetters(entry.info), folderId, row.uid));
        summary.renamed++;
      }
    }
  }
  const fresh = sortByDelivery([...disk.values()]);
  const uidStart = (db.prepare(UID_NEXT).pluck().get(folderId) as number) ?? 1;
  summary.added += fresh.length;
  // Batched transactions: a kill -9 leaves a consistent index that the next run completes.
  // uid_next moves with each batch of inserts, in the same transaction.
  for (let i = 0; i < work.length; i += BATCH) db.transaction(() => work.slice(i, i + BATCH).forEach((w) => w()))();
  const insert = statement(INSERT_MESSAGE);
  const advance = statement(SET_UID_NEXT);
  for (let i = 0; i < fresh.length; i += BATCH) {
    const batch = fresh.slice(i, i + BATCH);
    const heads = readHeads(dir, batch.map(fileOf));
    db.transaction(() => {
      batch.forEach((entry, j) => {
        insert().run(...rowValues(readMessage(entry, summary, heads[j]), folderId, uidStart + i + j));
      });
      advance().run(uidStart + i + batch.length, folderId);
    })();
  }
  updateStats(db, folderId);
}

/** A message file's name relative to its folder. */
function fileOf(entry: MessageFile): string {
  return `${entry.subdir}/${entry.name}`;
}

const UID_NEXT = "SELECT uid_next FROM folders WHERE id = ?";
const SET_UID_NEXT = "UPDATE folders SET uid_next = ? WHERE id = ?";

// Positional parameters: binding by name costs half as much again per row.
const INSERT_MESSAGE = `INSERT INTO messages (folder_id, uid, base, subdir, info, flags, size, received, date, from_addr, to_addr, cc_addr, subject, message_id, in_reply_to, refs, has_attachments, broken)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

type MessageRow = ReturnType<typeof readMessage>;

function rowValues(r: MessageRow, folderId: number, uid: number): unknown[] {
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
function readMessage(entry: MessageFile, summary: IndexSummary, head: MessageHead) {
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

/** The folder's stat row, recomputed from its message rows so the two never disagree. */
function updateStats(db: Database.Database, folderId: number): void {
  // One pass over the folder's rows (SUM of a comparison counts the rows where it holds).
  db.prepare(`UPDATE folders SET (messages, bytes, unseen, flagged, deleted, recent, oldest, newest) = (
      SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(instr(flags, 'S') = 0), 0), COALESCE(SUM(instr(flags, 'F') > 0), 0),
        COALESCE(SUM(instr(flags, 'T') > 0), 0), COALESCE(SUM(subdir = 'new'), 0), MIN(received), MAX(received)
      FROM messages WHERE folder_id = @id)
    WHERE id = @id`).run({ id: folderId });
}

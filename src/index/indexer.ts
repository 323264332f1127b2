import path from "node:path";
import type Database from "better-sqlite3";
import { type ListingDigest, listingMatches } from "../maildir/listing-digest.js";
import { type MessageListing, messageFiles } from "../maildir/message-listing.js";
import { forEachMessageFile, type MessageFile } from "../maildir/scan.js";
import { envNumber } from "../util/env.js";
import { type OpenedIndex, openIndex } from "./db.js";
import { listFolders, subdirMtimeNs } from "./folders.js";
import { batchOfHeads, fedRowsInsert } from "./fed-rows.js";
import { type MessageHead, readHeads } from "./heads.js";
import { BROKEN_FROM, createFolder, flagLetters, type FolderRow, INSERT_MESSAGE, readMessage, rowValues, SET_UID_NEXT, storedFilePages, UID_NEXT, updateStats } from "./rows.js";
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

/**
 * Files whose heads are read at once: a batch of a thousand, fewer where headers are huge.
 * Each batch's heads (up to 64 KB a file) are held together: a thousand of 60 KB took
 * `mailstore index` to a 255 MB peak. The first batch of a folder is small, and each next one
 * is sized so that its heads come to about HEAD_BYTES, as the last batch's did.
 */
export class HeadBatches {
  static readonly FIRST = 100;
  static readonly HEAD_BYTES = 8 * 1024 * 1024;
  size = HeadBatches.FIRST;

  /** The last batch held `count` files whose heads took `bytes`. */
  read(count: number, bytes: number): void {
    const fitting = bytes > 0 ? Math.floor((count * HeadBatches.HEAD_BYTES) / bytes) : BATCH;
    this.size = Math.min(BATCH, Math.max(16, fitting));
  }
}

const headBytes = (heads: MessageHead[]) => heads.reduce((n, h) => n + h.block.length, 0);

/**
 * The listing's files at `positions`, by delivery: Maildir names sort by delivery time, then
 * the M (microsecond or sequence) field. Sorted as numbers with their keys in typed arrays, so
 * a first index of a million files holds no object per file.
 */
function inDeliveryOrder(listing: MessageListing, positions: number[]): number[] {
  const secs = new Float64Array(positions.length);
  const micro = new Float64Array(positions.length);
  positions.forEach((at, i) => {
    const base = listing.baseAt(at);
    const m = /^(\d+)\.M(\d+)/.exec(base);
    secs[i] = m ? Number(m[1]) : Number.parseInt(base, 10) || 0;
    micro[i] = m ? Number(m[2]) : 0;
  });
  const byBase = (a: number, b: number) => {
    const [x, y] = [listing.baseAt(positions[a]), listing.baseAt(positions[b])];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const order = positions.map((_, i) => i);
  order.sort((a, b) => secs[a] - secs[b] || micro[a] - micro[b] || byBase(a, b));
  return order.map((i) => positions[i]);
}

/**
 * Brings a mailbox's index up to date with its Maildir. A folder whose cur/ and new/ mtimes
 * equal the stored ones is skipped; a directory modified within a second of the scan keeps no
 * stored mtime (a change in the same second would not move it again), so the next run looks.
 * In a changed folder, new names are parsed, renamed ones (flags) updated, vanished removed.
 * `full` re-reads every message, keeping UIDs.
 */
export function indexMaildir(maildir: string, opts: Pick<SyncOptions, "full" | "pageRows"> = {}): IndexSummary {
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
  return openIndex(maildir, { deepCheck: opts.full === true, buildInMemory: () => holdsAtMost(maildir, memoryBuildLimit()) });
}

/**
 * The largest mailbox (in messages) whose new index is built in memory: ~0.5 KB a message,
 * so at most ~25 MB, held twice while it is written out. MAILSTORE_INDEX_MEMORY_MAX_MESSAGES
 * overrides it (tests use 0 to build on disk).
 */
function memoryBuildLimit(): number {
  return envNumber("MAILSTORE_INDEX_MEMORY_MAX_MESSAGES", 50_000);
}

/** Whether the folders hold at most `limit` message files: read only until that is known. */
function holdsAtMost(maildir: string, limit: number): boolean {
  let total = 0;
  return listFolders(maildir).every((folder) => forEachMessageFile(folder.dir, () => ++total <= limit));
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

export interface SyncOptions {
  /** Re-read every message, keeping UIDs. */
  full?: boolean;
  /** A damaged index set aside before this one was started (reported in the summary). */
  setAside?: string | null;
  /**
   * The folder a migration is delivering into while its index feed (appender.ts) adds the
   * rows. `leave`: files whose base name holds it are the feed's to add, so this sync leaves
   * them (and stores no mtimes for the folder, so the next sync lists it). `holds`: the digest
   * of what the feed knows the index holds for the folder; when a listing shows exactly that,
   * the folder's rows (and the stat row the feed kept counting) are current: nothing is read back.
   */
  fed?: { dir: string; leave?: string; holds?: ListingDigest };
  /** Stored rows read at a time while a folder is compared with its files (default 10,000). */
  pageRows?: number;
}

/** indexMaildir's work on an index already open; stamped() once it is closed. */
export function syncIndex(db: Database.Database, maildir: string, opts: SyncOptions = {}): SyncedIndex {
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
    const cur = subdirMtimeNs(path.join(folder.dir, "cur"));
    const nu = subdirMtimeNs(path.join(folder.dir, "new"));
    if (!opts.full && row.cur_mtime_ns === String(cur) && row.new_mtime_ns === String(nu)) {
      summary.unchangedFolders++;
      stored.push([folder.name, row.cur_mtime_ns, row.new_mtime_ns]);
      continue;
    }
    const fed = opts.fed?.dir === folder.dir ? opts.fed : undefined;
    // Rows and stat row are current when the folder holds just what the feed added.
    if (!(fed?.holds && listingMatches(folder.dir, fed.holds))) syncFolder(db, row.id, folder.dir, { full: opts.full === true, leave: fed?.leave, pageRows: opts.pageRows }, summary);
    const settled = (t: bigint) => (!fed?.leave && t < scanStart - 1_000_000_000n ? String(t) : "");
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

/** A summary with nothing counted yet. */
export function emptySummary(maildir: string): IndexSummary {
  return { maildir, folders: 0, unchangedFolders: 0, added: 0, renamed: 0, removed: 0, broken: 0, uidValidityChanged: [], setAside: null, stamp: null };
}

/**
 * Brings one folder's rows in line with its files. The listing is held (by base name, each
 * entry crossed off as a stored row claims it); the stored rows are walked a page at a time,
 * each page's removals, renames and re-reads written before the next page is read, so what a
 * sync holds beyond the listing does not grow with the folder. What is left of the listing
 * is the new files, indexed in delivery order.
 */
function syncFolder(db: Database.Database, folderId: number, dir: string, opts: { full: boolean; leave?: string; pageRows?: number }, summary: IndexSummary): void {
  const { full, leave } = opts;
  const disk = messageFiles(dir);
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

  const sizes = new HeadBatches();
  for (const page of storedFilePages(db, folderId, opts.pageRows)) {
    const gone: number[] = [];
    const changed: Array<{ entry: MessageFile; uid: number }> = [];
    for (const row of page) {
      const entry = disk.take(row.base);
      if (!entry) gone.push(row.uid);
      else if (full || entry.subdir !== row.subdir || entry.info !== row.info) changed.push({ entry, uid: row.uid });
    }
    summary.removed += gone.length;
    if (!full) summary.renamed += changed.length;
    // Batched transactions: a kill -9 leaves a consistent index that the next run completes.
    for (let i = 0; i < gone.length; i += BATCH) db.transaction(() => gone.slice(i, i + BATCH).forEach((uid) => remove().run(folderId, uid)))();
    for (let i = 0; i < changed.length; ) {
      const batch = changed.slice(i, i + (full ? sizes.size : BATCH));
      i += batch.length;
      const heads = full ? readHeads(dir, batch.map(({ entry }) => fileOf(entry))) : [];
      if (full) sizes.read(batch.length, headBytes(heads));
      db.transaction(() => {
        batch.forEach(({ entry, uid }, j) => {
          if (full) refresh().run({ ...readMessage(entry, summary, heads[j]), folder: folderId, uid });
          else rename().run(entry.subdir, entry.info, flagLetters(entry.info), folderId, uid);
        });
      })();
    }
  }
  const fresh = inDeliveryOrder(disk, disk.remaining().filter((at) => !leave || !disk.baseAt(at).includes(leave)));
  const uidStart = (db.prepare(UID_NEXT).pluck().get(folderId) as number) ?? 1;
  summary.added += fresh.length;
  // uid_next moves with each batch of inserts, in the same transaction.
  const insert = statement(INSERT_MESSAGE);
  const advance = statement(SET_UID_NEXT);
  const brokenFrom = statement(BROKEN_FROM);
  const insertFed = fresh.length > 0 ? fedRowsInsert(db) : null;
  for (let i = 0; i < fresh.length; ) {
    const batch = fresh.slice(i, i + sizes.size).map((at) => disk.fileAt(at));
    const heads = readHeads(dir, batch.map(fileOf));
    const first = uidStart + i;
    db.transaction(() => {
      // The addon makes the batch's rows in one statement (src/index/fed-rows.ts); without it,
      // or for a batch it refuses, they are made here one by one.
      const added = insertFed?.(folderId, first, batchOfHeads(batch, heads)) ?? null;
      if (added !== null) summary.broken += brokenFrom().pluck().get(folderId, first) as number;
      else {
        batch.forEach((entry, j) => {
          insert().run(...rowValues(readMessage(entry, summary, heads[j]), folderId, first + j));
        });
      }
      advance().run(first + batch.length, folderId);
    })();
    i += batch.length;
    sizes.read(batch.length, headBytes(heads));
  }
  updateStats(db, folderId);
}

/** A message file's name relative to its folder. */
function fileOf(entry: MessageFile): string {
  return `${entry.subdir}/${entry.name}`;
}


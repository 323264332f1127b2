import type Database from "better-sqlite3";
import { ListingDigest } from "../maildir/listing-digest.js";
import { messageFileOf } from "../maildir/scan.js";
import { listFolders } from "./folders.js";
import { type PackedRows, unpackRows } from "./feed-memory.js";
import { batchOfPacked, fedRowsInsert } from "./fed-rows.js";
import { emptySummary } from "./indexer.js";
import { BROKEN_FROM, createFolder, INSERT_MESSAGE, readMessage, rowValues, SET_UID_NEXT, statsAdder, storedFilePages, UID_NEXT } from "./rows.js";

/** A message just delivered, as its writer knows it: no need to stat or read the file. */
export interface FedMessage {
  name: string;
  subdir: "new" | "cur";
  /** Its bytes, and its mtime in ms (as set on the file: whole seconds, so exactly what a stat gives). */
  size: number;
  received: number;
  header: Uint8Array;
}

export interface MessageAppender {
  /** The folder's directory. */
  dir: string;
  /** Adds a batch of delivered messages; returns how many rows were added. */
  append: (messages: FedMessage[]) => number;
  /** The same for a batch as it crossed to the feed thread: natively where the addon is. */
  appendPacked: (packed: PackedRows) => number;
  /**
   * The digest of every row the index holds for the folder: what was there when the appender
   * started, and each row it added since (syncIndex's `fed.holds`).
   */
  holds: ListingDigest;
  /** The rows added so far (`added`), and how many of them are of files without a readable header (`broken`). */
  counts: { added: number; broken: number };
}

/**
 * Adds rows for messages just delivered into the folder at `folderDir`, in delivery order,
 * from what the caller already holds: the rows are those a scan would make (same parse, the
 * size and mtime the caller gave the file), UIDs from uid_next. A name already indexed is
 * left alone; a file gone or renamed since is settled by the next syncIndex. The folder's
 * stat row counts each batch as it is added; its stored mtimes are not touched, so the next
 * syncIndex lists the folder and settles anything else that changed. The folder is looked up
 * and the statements prepared once: `append` takes one batch at a time. `appendPacked` adds a
 * batch as it crossed to the feed thread in one statement of the addon's (src/index/fed-rows.ts);
 * `native: false` makes it add the rows one by one here, as it does without the addon.
 */
export function messageAppender(db: Database.Database, maildir: string, folderDir: string, opts: { native?: boolean } = {}): MessageAppender {
  const folder = listFolders(maildir).find((f) => f.dir === folderDir);
  if (!folder) throw new Error(`${folderDir}: not a folder of ${maildir}`);
  const id = (db.prepare("SELECT id FROM folders WHERE name = ?").pluck().get(folder.name) as number | undefined) ?? createFolder(db, folder.name).id;
  const insert = db.prepare(`${INSERT_MESSAGE} ON CONFLICT (folder_id, base) DO NOTHING`);
  const uidNext = db.prepare(UID_NEXT).pluck();
  const advance = db.prepare(SET_UID_NEXT);
  const addStats = statsAdder(db);
  // readMessage counts into a summary; the appender counts only the rows it adds.
  const scratch = emptySummary(maildir);
  const counts = { added: 0, broken: 0 };
  const holds = new ListingDigest();
  for (const page of storedFilePages(db, id)) for (const row of page) holds.add(row.base, row.subdir, row.info);
  const append = (messages: FedMessage[]) => {
    let added = 0;
    db.transaction(() => {
      const first = uidNext.get(id) as number;
      let uid = first;
      for (const m of messages) {
        const block = Buffer.from(m.header.buffer, m.header.byteOffset, m.header.byteLength);
        const file = messageFileOf(m.name, m.subdir);
        const row = readMessage(file, scratch, { block, size: m.size, received: m.received, failed: false });
        if (insert.run(...rowValues(row, id, uid)).changes > 0) {
          holds.add(file.base, file.subdir, file.info);
          uid++;
          added++;
          counts.broken += row.broken;
        }
      }
      advance.run(uid, id);
      addStats.run({ id, from: first });
    })();
    counts.added += added;
    return added;
  };
  const insertFed = opts.native === false ? null : fedRowsInsert(db);
  const brokenFrom = db.prepare(BROKEN_FROM).pluck();
  const filesFrom = db.prepare("SELECT base, subdir, info FROM messages WHERE folder_id = ? AND uid >= ?");
  const appendPacked = (packed: PackedRows) => {
    if (!insertFed) return append(unpackRows(packed));
    let added: number | null = null;
    db.transaction(() => {
      const first = uidNext.get(id) as number;
      const batch = batchOfPacked(packed);
      added = insertFed(id, first, batch);
      if (added === null) return;
      const names = batch.names.split("/");
      if (added === names.length) for (let i = 0; i < names.length; i++) holds.addName(names[i], batch.numbers[i * 4] === 1 ? "cur" : "new");
      else for (const f of filesFrom.all(id, first) as Array<{ base: string; subdir: string; info: string }>) holds.add(f.base, f.subdir, f.info);
      // A name already indexed left its UID unused: UIDs stay in delivery order, with a gap.
      advance.run(first + names.length, id);
      addStats.run({ id, from: first });
      counts.broken += brokenFrom.get(id, first) as number;
    })();
    if (added === null) return append(unpackRows(packed));
    counts.added += added;
    return added;
  };
  return { dir: folderDir, append, appendPacked, holds, counts };
}

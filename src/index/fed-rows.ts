import type Database from "better-sqlite3";
import { nativeAddonFile } from "../util/native.js";
import type { PackedRows } from "./feed-memory.js";
import type { MessageHead } from "./heads.js";
import { finishField } from "./headers.js";

// The header fields' columns, in the addon's slot order (native/index-text.h): bit k of the
// row's `left` says the addon left field k to JavaScript, which mailstore_finish does.
const FIELD_COLUMNS = ["date", "from_addr", "to_addr", "cc_addr", "subject", "message_id", "in_reply_to", "refs"];

/** A batch's rows from mailstore_fed (native/fed-rows.c), UIDs from the second parameter on, in delivery order; a name already indexed keeps its row. */
export const INSERT_FED_ROWS = `INSERT INTO messages (folder_id, uid, base, subdir, info, flags, size, received, ${FIELD_COLUMNS.join(", ")}, has_attachments, broken)
  SELECT ?, ? + seq, base, subdir, info, flags, size, received,
    ${FIELD_COLUMNS.map((column, k) => `iif(left & ${1 << k}, mailstore_finish(${k}, ${column}), ${column})`).join(", ")},
    has_attachments, broken
  FROM mailstore_fed(?, ?, ?) WHERE true
  ON CONFLICT (folder_id, base) DO NOTHING`;

/**
 * Messages as mailstore_fed reads them: names "/"-joined; per message four numbers (1 if in
 * cur/ plus 2 if the file could not be read, size, mtime in ms, where its header block ends
 * in `headers`); the header blocks back to back from the start of `headers`.
 */
export interface FedBatch {
  names: string;
  numbers: Float64Array;
  headers: Uint8Array;
}

/** A batch as it crossed to the feed thread (its memory may hold more than the batch). */
export function batchOfPacked(packed: PackedRows): FedBatch {
  let count = 1;
  for (let at = packed.names.indexOf("/"); at >= 0; at = packed.names.indexOf("/", at + 1)) count++;
  const numbers = new Float64Array(packed.numbers, 0, count * 4);
  return { names: packed.names, numbers, headers: new Uint8Array(packed.headers, 0, numbers[count * 4 - 1]) };
}

/** Files read for the index (their names in new/ or cur/ and their heads). */
export function batchOfHeads(files: ReadonlyArray<{ name: string; subdir: "new" | "cur" }>, heads: readonly MessageHead[]): FedBatch {
  const numbers = new Float64Array(files.length * 4);
  let end = 0;
  for (let i = 0; i < files.length; i++) {
    end += heads[i].block.byteLength;
    numbers.set([(files[i].subdir === "cur" ? 1 : 0) + (heads[i].failed ? 2 : 0), heads[i].size, heads[i].received, end], i * 4);
  }
  return { names: files.map((f) => f.name).join("/"), numbers, headers: backToBack(heads.map((h) => h.block), end) };
}

/** The blocks in one piece: the memory they lie in where they lie back to back in it (as readHeads gives them), else a copy. */
function backToBack(blocks: Buffer[], total: number): Uint8Array {
  const first = blocks[0];
  let at = first?.byteOffset ?? 0;
  for (const block of blocks) {
    if (block.buffer !== first.buffer || block.byteOffset !== at) return Buffer.concat(blocks, total);
    at += block.byteLength;
  }
  return blocks.length ? new Uint8Array(first.buffer, first.byteOffset, total) : new Uint8Array(0);
}

/** Adds a batch's rows: how many were added, or null when the addon refused the batch (nothing added then). */
export type FedRowsInsert = (folderId: number, firstUid: number, batch: FedBatch) => number | null;

/**
 * The index feed's way of adding a batch in one statement: the addon, loaded into `db` as an
 * SQLite extension, makes each row as readMessage would (native/fed-rows.c), and the fields
 * it leaves are finished here, called from the statement. Null where the addon is missing or
 * SQLite will not load it; the caller adds rows one by one then. test/index/fed-rows.test.ts
 * holds the two ways to the same rows.
 */
export function fedRowsInsert(db: Database.Database): FedRowsInsert | null {
  let insert = loadedInto.get(db);
  if (insert === undefined) loadedInto.set(db, (insert = loadInto(db)));
  return insert;
}

/** Per connection: the extension is loaded, the function registered and the statement prepared once. */
const loadedInto = new WeakMap<Database.Database, FedRowsInsert | null>();

function loadInto(db: Database.Database): FedRowsInsert | null {
  const file = nativeAddonFile();
  if (!file) return null;
  try {
    db.loadExtension(file);
  } catch {
    return null;
  }
  db.function("mailstore_finish", (k, value) => finishField(k as number, (value as string | null) ?? undefined) as number | string | null);
  const insert = db.prepare(INSERT_FED_ROWS);
  const bytes = (a: Float64Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return (folderId, firstUid, batch) => {
    try {
      return insert.run(folderId, firstUid, batch.names, bytes(batch.numbers), bytes(batch.headers)).changes;
    } catch (err) {
      // Refused before its first row (native/fed-rows.c): a batch it cannot read exactly.
      if ((err as Error).message.startsWith("mailstore_fed:")) return null;
      throw err;
    }
  };
}

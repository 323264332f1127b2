import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { assertPlainDbFiles, dbFiles, giveTo, maildirOwner, type Owner, prepareDbFile } from "../maildir/dirs.js";
import { asWal, imageOf } from "../util/db-image.js";
import { INDEX_FILE } from "./files.js";

export { INDEX_FILE };
export const INDEX_SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    cur_mtime_ns TEXT NOT NULL DEFAULT '',
    new_mtime_ns TEXT NOT NULL DEFAULT '',
    messages INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    unseen INTEGER NOT NULL DEFAULT 0,
    flagged INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    recent INTEGER NOT NULL DEFAULT 0,
    oldest INTEGER,
    newest INTEGER
  );
  CREATE TABLE IF NOT EXISTS messages (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    base TEXT NOT NULL,
    subdir TEXT NOT NULL,
    info TEXT NOT NULL,
    flags TEXT NOT NULL,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL,
    date INTEGER,
    from_addr TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    cc_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL,
    in_reply_to TEXT NOT NULL,
    refs TEXT NOT NULL,
    has_attachments INTEGER,
    broken INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (folder_id, uid),
    UNIQUE (folder_id, base)
  );
`;

export class DamagedIndexError extends Error {}

export interface OpenedIndex {
  db: Database.Database;
  /** A damaged index that was moved aside, and why. */
  setAside: string | null;
  /**
   * For a new index, built beside the real name: publish() closes it and moves it into place
   * (flushed first); publishLater() does the same with the writing and flushing off this
   * thread, where it can; discard() closes and removes it. Absent for an index opened in place.
   */
  building?: { publish: () => void; publishLater: () => Promise<void>; discard: () => void };
}

export interface OpenOptions {
  readonly?: boolean;
  /** Run SQLite's quick_check (it reads the whole file) on an existing index. */
  deepCheck?: boolean;
  /** Asked only when a new index must be built: may it be built in memory (the mailbox is small)? */
  buildInMemory?: () => boolean;
}

/**
 * Opens a mailbox's index, or starts a new one. A file that is not a mailstore index of this
 * schema, or (with deepCheck) fails SQLite's quick_check, is renamed aside
 * (<file>.damaged-<time>) and a new one is built: the caller learns through `setAside`.
 */
export function openIndex(maildir: string, opts: OpenOptions = {}): OpenedIndex {
  const file = path.join(maildir, INDEX_FILE);
  assertPlainDbFiles(file);
  if (opts.readonly) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    checkIndex(db, false);
    return { db, setAside: null };
  }
  const inMemory = () => opts.buildInMemory?.() === true;
  const owner = maildirOwner(maildir);
  if (!fs.existsSync(file)) return buildAside(file, null, inMemory(), owner);
  // Outside the try: a file that cannot be opened or handed over is an error, not damage.
  prepareDbFile(file, owner);
  try {
    return { db: create(file, opts.deepCheck === true), setAside: null };
  } catch (err) {
    if (!fs.existsSync(file)) throw err;
    const aside = `${file}.damaged-${Date.now()}`;
    // Its side files go with it: SQLite would read a -wal or hot -journal left here into the
    // new index, as it ties neither to the file it was written for.
    for (const side of dbFiles(file)) if (fs.existsSync(side)) fs.renameSync(side, aside + side.slice(file.length));
    return buildAside(file, `${aside} (${(err as Error).message})`, inMemory(), owner);
  }
}

/**
 * A new index is built aside and published whole: until then there is nothing to protect (a
 * crash leaves at most a <file>.building that the next run throws away and builds again).
 * Published means flushed once and renamed into place in WAL mode, which spares a first index
 * (and migrate's) the fsyncs of every commit and checkpoint. A small mailbox's index is built
 * in memory from a ready-made empty image and written out in one piece; a large one as
 * <file>.building with neither journal nor flushes, so its memory stays bounded.
 */
function buildAside(file: string, setAside: string | null, inMemory: boolean, owner: Owner | undefined): OpenedIndex {
  const building = `${file}.building`;
  assertPlainDbFiles(building);
  const remove = () => {
    for (const file of dbFiles(building)) fs.rmSync(file, { force: true });
  };
  remove();
  if (inMemory) return buildInMemory(file, building, setAside, remove, owner);
  prepareDbFile(building, owner);
  const db = new Database(building);
  try {
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    // Nobody else opens a .building file: holding its lock spares every transaction the
    // check that the file changed under the page cache (the feed commits 32 rows at a time).
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("foreign_keys = ON");
    db.transaction(() => {
      db.exec(SCHEMA);
      db.prepare("INSERT OR IGNORE INTO meta VALUES ('schema', ?)").run(String(INDEX_SCHEMA_VERSION));
    })();
  } catch (err) {
    db.close();
    remove();
    throw err;
  }
  const publish = () => {
    db.pragma("journal_mode = WAL");
    db.close();
    const fd = fs.openSync(building, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // The directory is not flushed: a rename lost in a crash leaves the whole .building
    // file, which the next run discards and builds again. Nothing is served half-written.
    fs.renameSync(building, file);
  };
  const discard = () => {
    db.close();
    remove();
  };
  return { db, setAside, building: { publish, publishLater: async () => publish(), discard } };
}

let emptyImage: Buffer | undefined;

/** A new index in memory, opened from a copy of a serialized empty one (schema made once per thread). */
function buildInMemory(file: string, building: string, setAside: string | null, remove: () => void, owner: Owner | undefined): OpenedIndex {
  emptyImage ??= imageOf((template) => {
    template.exec(SCHEMA);
    template.prepare("INSERT INTO meta VALUES ('schema', ?)").run(String(INDEX_SCHEMA_VERSION));
  });
  const db = new Database(emptyImage);
  db.pragma("foreign_keys = ON");
  const image = () => {
    try {
      return asWal(db.serialize());
    } finally {
      db.close();
    }
  };
  return {
    db,
    setAside,
    building: {
      publish: () => {
        try {
          writeFlushed(building, image(), owner);
        } catch (err) {
          remove();
          throw err;
        }
        fs.renameSync(building, file);
      },
      publishLater: async () => {
        try {
          await writeFlushedLater(building, image(), owner);
        } catch (err) {
          remove();
          throw err;
        }
        fs.renameSync(building, file);
      },
      discard: () => db.close(),
    },
  };
}

// A new file: never through a symlink, never over a file.
const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** Writes a new file (0600, `owner`'s) and flushes it to disk. */
function writeFlushed(file: string, bytes: Buffer, owner: Owner | undefined): void {
  const fd = fs.openSync(file, CREATE_NEW, 0o600);
  try {
    giveTo(fd, owner);
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** writeFlushed on libuv's thread pool: the caller's thread goes on meanwhile. */
async function writeFlushedLater(file: string, bytes: Buffer, owner: Owner | undefined): Promise<void> {
  const handle = await fs.promises.open(file, CREATE_NEW, 0o600);
  try {
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function create(file: string, deepCheck: boolean): Database.Database {
  const db = new Database(file, { timeout: 10_000 });
  try {
    db.pragma("foreign_keys = ON");
    db.pragma("synchronous = NORMAL");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (tables.length > 0 && !tables.includes("meta")) throw new DamagedIndexError("not a mailstore index");
    if (!tables.includes("messages")) {
      // New (or half-made) index: WAL is a property of the file, set once.
      db.pragma("journal_mode = WAL");
      db.transaction(() => {
        db.exec(SCHEMA);
        db.prepare("INSERT OR IGNORE INTO meta VALUES ('schema', ?)").run(String(INDEX_SCHEMA_VERSION));
      }).immediate();
    }
    checkIndex(db, deepCheck);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The schema version always; SQLite's quick_check (it reads the whole file) when asked. */
function checkIndex(db: Database.Database, deep: boolean): void {
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get();
  if (version !== String(INDEX_SCHEMA_VERSION)) throw new DamagedIndexError(`schema ${String(version)} where ${INDEX_SCHEMA_VERSION} is expected`);
  if (!deep) return;
  const check = db.pragma("quick_check", { simple: true });
  if (check !== "ok") throw new DamagedIndexError(`quick_check: ${String(check)}`);
}

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { INDEX_FILE } from "../../src/index/db.js";
import { indexMaildir } from "../../src/index/indexer.js";
import { hasHeaderField, type StoredFile, storedFilePages } from "../../src/index/rows.js";
import { migratedMaildir } from "../helpers/maildir.js";

/** The pages, checked to be no longer than asked, joined. */
function storedFiles(db: Database.Database, folderId: number, pageRows?: number): StoredFile[] {
  const pages = [...storedFilePages(db, folderId, pageRows)];
  if (pageRows !== undefined) assert.ok(pages.every((page) => page.length <= pageRows));
  return pages.flat();
}

const mailbox = async (n: number, extraHeaders?: string[]) => (await migratedMaildir(n, extraHeaders)).maildir;

test("stored file names are read back whole, page by page, and a name the fast read cannot split is read again as rows", async () => {
  const maildir = await mailbox(9, Array.from({ length: 9 }, (_, i) => (i % 3 ? "Status: RO\n" : "")));
  indexMaildir(maildir);
  const db = new Database(path.join(maildir, INDEX_FILE));
  try {
    const plain = () => db.prepare("SELECT uid, base, subdir, info FROM messages WHERE folder_id = 1 ORDER BY uid").all();
    assert.equal(plain().length, 9);
    for (const pageRows of [1, 2, 4, 9, 50]) assert.deepEqual(storedFiles(db, 1, pageRows), plain(), `pages of ${pageRows}`);
    // Rows written by something else, with "/" in names: four in all, so the whole string
    // still splits into fields of four, misaligned.
    db.prepare("UPDATE messages SET base = 'odd/name' WHERE uid = 3").run();
    db.prepare("UPDATE messages SET base = 'two/more/parts' WHERE uid = 4").run();
    db.prepare("UPDATE messages SET info = '2,/S' WHERE uid = 7").run();
    for (const pageRows of [2, 4, 50]) assert.deepEqual(storedFiles(db, 1, pageRows), plain(), `pages of ${pageRows}, odd names`);
    assert.deepEqual(storedFiles(db, 2), [], "a folder without rows");
  } finally {
    db.close();
  }
});

test("hasHeaderField agrees with the field-line pattern on random blocks", () => {
  const pieces = ["Subject", "X", ":", ":", " ", "\t", "\n", "\r", "\r\n", "a b", "\u00e9", "\x00", "From ", ">From", "-", "\x7f", "::"];
  let seed = 5;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n;
  };
  let fields = 0;
  for (let i = 0; i < 3000; i++) {
    const block = Buffer.from(Array.from({ length: random(8) }, () => pieces[random(pieces.length)]).join(""), "latin1");
    const expected = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/m.test(block.toString("latin1"));
    if (expected) fields++;
    assert.equal(hasHeaderField(block), expected, JSON.stringify(block.toString("latin1")));
  }
  assert.ok(fields > 100 && fields < 2900, `${fields} of 3000 with a field line`);
});

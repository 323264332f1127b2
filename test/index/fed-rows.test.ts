import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { type FedMessage, messageAppender } from "../../src/index/appender.js";
import { openIndex } from "../../src/index/db.js";
import { SharedSlot } from "../../src/index/feed-memory.js";
import { batchOfHeads, batchOfPacked, fedRowsInsert } from "../../src/index/fed-rows.js";
import type { MessageHead } from "../../src/index/heads.js";
import { emptySummary } from "../../src/index/indexer.js";
import { readMessage, rowValues } from "../../src/index/rows.js";
import { messageFileOf } from "../../src/maildir/scan.js";
import { nativeAddonFile } from "../../src/util/native.js";
import { ADDRESS_SHAPES } from "../helpers/address-shapes.js";
import { mailstore } from "../helpers/cli.js";
import { dumpIndex } from "../helpers/index-dump.js";
import { headerBlock, realMessages, tempDir } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

// The feed adds a batch's rows natively (native/fed-rows.c through src/index/fed-rows.ts);
// the rows must be those the appender makes one by one in JavaScript, column for column.

/** An empty Maildir with its (new) index open. */
function emptyMaildir(label: string) {
  const maildir = path.join(tempDir(), label);
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
  return { maildir, opened: openIndex(maildir) };
}

const rowsOf = (db: Database.Database) => db.prepare("SELECT * FROM messages ORDER BY folder_id, uid").all();
const statsOf = (db: Database.Database) => db.prepare("SELECT name, uid_next, messages, bytes, unseen, flagged, deleted, recent, oldest, newest FROM folders").all();

/** Header blocks of every kind the rows are made of: real mail, address shapes, 8-bit text, encoded words the addon leaves, blocks without a field. */
function blocks(): Buffer[] {
  const real = [...realMessages("lf"), ...realMessages("crlf")].map((m) => headerBlock(m.bytes));
  const shapes = ADDRESS_SHAPES.map((value) => Buffer.from(`From: ${value}\nTo: ${value}\nCc: x@example.org,\n ${value}\nSubject: shape\n\n`, "latin1"));
  const odd = [
    // Latin-1 (not UTF-8): stored as the text JavaScript reads, in UTF-8.
    Buffer.from("Subject: caf\xe9 \xa0cr\xe8me\nFrom: Ren\xe9 <r@example.org>\n\n", "latin1"),
    Buffer.from("Subject: =?iso-2022-jp?B?GyRCJEgkJBsoQg==?=\nFrom: =?iso-2022-jp?B?GyRCJEgbKEI=?= <a@example.org>\nDate: 18 Sep 08 17:00 GMT\n\n"),
    Buffer.from("From: undisclosed-recipients:;\nTo: group: a@b.example, c@d.example;\nMessage-ID:   <x@y>  \nReferences: <a@b>\n\t<c@d>\n\n"),
    Buffer.from("no field line at all\nstill none\n\n"),
    Buffer.from("\x00\x01\x02 binary"),
    Buffer.from("text first\rX-Field: after a lone CR\n\n"),
    Buffer.from("text first\n  Indented: not a field name\n\n"),
    Buffer.alloc(0),
    Buffer.from("Subject:\n\n"),
  ];
  return [...real, ...shapes, ...odd];
}

/** Names of every shape the rows read: sizes, flags and info of all kinds, 8-bit host names. */
function nameOf(i: number, size: number): string {
  const shapes = [
    `${1700000000 + i}.M${i}P7.host,S=${size}:2,S`,
    `${1700000000 + i}.M${i}P7.host,S=${size},W=${size + 20}:2,FRST`,
    `${1700000000 + i}.M${i}P7.h\u00f6st:2,`,
    `${1700000000 + i}.M${i}P7.host`,
    `${1700000000 + i}.M${i}P7.host:2,Sab\u00e9Z`,
    `${1700000000 + i}.M${i}P7.host,S=x,S=0${size}:1,odd`,
    `${1700000000 + i}.M${i}P7.host:2,S,S=99`,
    `${1700000000 + i}.M${i}P7.host,W=5:2,T`,
  ];
  return shapes[i % shapes.length];
}

function fedMessages(from: number, headers: Buffer[]): FedMessage[] {
  return headers.map((header, k) => {
    const i = from + k;
    return { name: nameOf(i, 1000 + i), subdir: i % 3 ? "cur" : "new", size: 2000 + i, received: 1_700_000_000_000 + i * 1000, header };
  });
}

/** Two empty Maildirs, one whose appender adds natively and one whose appender adds row by row; `same` holds their indexes equal and closes them. */
function bothWays(label: string) {
  const native = emptyMaildir(`${label}-native`);
  const js = emptyMaildir(`${label}-js`);
  const nativeAppender = messageAppender(native.opened.db, native.maildir, native.maildir);
  const jsAppender = messageAppender(js.opened.db, js.maildir, js.maildir, { native: false });
  const same = () => {
    const rows = rowsOf(native.opened.db);
    assert.deepEqual(rows, rowsOf(js.opened.db));
    assert.deepEqual(statsOf(native.opened.db), statsOf(js.opened.db));
    assert.deepEqual(nativeAppender.counts, jsAppender.counts);
    assert.ok(nativeAppender.holds.equals(jsAppender.holds), "the digest of what the index holds is the same");
    native.opened.db.close();
    js.opened.db.close();
    return rows;
  };
  return { db: native.opened.db, nativeAppender, jsAppender, same };
}

/** A typed array's bytes as a Buffer, as the statement takes them. */
const bytes = (a: Uint8Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test("rows added natively are the rows the appender makes one by one, column for column", () => {
  const all = blocks();
  const { db, nativeAppender, jsAppender, same } = bothWays("fixtures");
  const slot = new SharedSlot();
  const leftFields = db.prepare("SELECT COUNT(*) FROM mailstore_fed(?, ?, ?) WHERE left != 0").pluck();
  let left = 0;
  for (let from = 0, size = 1; from < all.length; from += size, size = (size % 40) + 7) {
    const batch = fedMessages(from, all.slice(from, from + size));
    const packed = slot.pack(batch);
    const { names, numbers, headers } = batchOfPacked(packed);
    left += leftFields.get(names, bytes(numbers), bytes(headers)) as number;
    assert.equal(nativeAppender.appendPacked(packed), batch.length);
    assert.equal(jsAppender.append(batch), batch.length);
  }
  assert.ok(left >= 3, `the statement finishes the fields the addon leaves (${left} rows had some)`);
  assert.ok(nativeAppender.counts.broken >= 4, "blocks without a field line are counted broken");
  assert.equal(same().length, all.length);
});

test("random names and header blocks give the same rows both ways (sizes, flags, 8-bit text, lines ended by CR, no field at all)", () => {
  const random = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[random(xs.length)];
  const nameParts = [",S=", ",S=", "0", "123", "98765", ",W=7", ":2,", ":2,", ":1,", "S", "F", "R", "T", "a", "\u00e9", ",", ":", ".", "host", "M12P3"];
  const blockParts = ["From: ", "Subject: ", "To: ", "Date: ", "X-A: ", "=?utf-8?B?w6k=?=", "=?iso-2022-jp?B?GyRCJEgbKEI=?=", "a@b.example", "<c@d>", "\n", "\r\n", "\r", "\n ", "\xe9", "\xa0", "text", " ", ":", "\x00"];
  const { nativeAppender, jsAppender, same } = bothWays("random");
  const slot = new SharedSlot();
  let uid = 0;
  for (let round = 0; round < 400; round++) {
    const batch: FedMessage[] = Array.from({ length: 1 + random(40) }, () => {
      const i = uid++;
      const name = `${1700000000 + i}.M${i}P1${Array.from({ length: random(7) }, () => pick(nameParts)).join("")}`;
      const text = Array.from({ length: random(24) }, () => pick(blockParts)).join("");
      const header = random(3) === 0 ? Buffer.from(text, "latin1") : Buffer.from(text);
      return { name, subdir: random(2) ? "cur" : "new", size: random(100000), received: 1_600_000_000_000 + random(1e9) * 1000, header };
    });
    nativeAppender.appendPacked(slot.pack(batch));
    jsAppender.append(batch);
  }
  same();
});

test("a batch the addon cannot read exactly is refused before its first row and added the JavaScript way", () => {
  const { maildir, opened } = emptyMaildir("refused");
  const appender = messageAppender(opened.db, maildir, maildir);
  const header = Buffer.from("Subject: hi\nFrom: a@example.org\n\n");
  // A size of 16 digits: Number() rounds it, which a double built digit by digit need not match.
  const batch: FedMessage[] = [
    { name: "1700000000.M1P7.host,S=1234", subdir: "new", size: 1, received: 1_700_000_000_000, header },
    { name: "1700000001.M2P7.host,S=1234567890123456789:2,S", subdir: "cur", size: 2, received: 1_700_000_001_000, header },
  ];
  const packed = new SharedSlot().pack(batch);
  const insert = fedRowsInsert(opened.db);
  assert.ok(insert, "the addon loads as an SQLite extension");
  assert.equal(insert(1, 1, batchOfPacked(packed)), null);
  assert.equal(rowsOf(opened.db).length, 0, "nothing was added by the refused statement");
  // Numbers that do not cover the names: refused too.
  const { numbers, headers } = batchOfPacked(packed);
  assert.equal(insert(1, 1, { names: `${packed.names}/1700000002.M3P7.host`, numbers, headers }), null);
  assert.equal(appender.appendPacked(packed), 2);
  const sizes = opened.db.prepare("SELECT uid, size FROM messages ORDER BY uid").all();
  assert.deepEqual(sizes, [
    { uid: 1, size: 1234 },
    { uid: 2, size: 1234567890123456800 },
  ]);
  opened.db.close();
});

test("a name already indexed keeps its row; the batch's other rows are added with UIDs in delivery order", () => {
  const { maildir, opened } = emptyMaildir("again");
  const appender = messageAppender(opened.db, maildir, maildir);
  const slot = new SharedSlot();
  const header = (n: number) => Buffer.from(`Subject: message ${n}\nFrom: a@example.org\n\n`);
  const first = fedMessages(0, [header(0), header(1)]);
  assert.equal(appender.appendPacked(slot.pack(first)), 2);
  const again = [...fedMessages(2, [header(2)]), { ...first[1], header: header(99) }, ...fedMessages(3, [header(3)])];
  assert.equal(appender.appendPacked(slot.pack(again)), 2);
  const rows = opened.db.prepare("SELECT uid, subject FROM messages ORDER BY uid").all();
  assert.deepEqual(rows, [
    { uid: 1, subject: "message 0" },
    { uid: 2, subject: "message 1" },
    { uid: 3, subject: "message 2" },
    { uid: 5, subject: "message 3" },
  ]);
  assert.equal(opened.db.prepare("SELECT uid_next FROM folders").pluck().get(), 6);
  assert.equal(appender.holds.count, 4);
  assert.deepEqual(appender.counts, { added: 4, broken: 0 });
  opened.db.close();
});

test("a first index by `mailstore index` holds the same rows with the addon's statement as without the addon", () => {
  const root = tempDir();
  const home = mailstore(["path", "--root", root, "ida"]).stdout.trim();
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(home, sub), { recursive: true });
  const all = blocks();
  all.forEach((header, i) => {
    const sub = i % 3 ? "cur" : "new";
    const name = sub === "cur" ? nameOf(i, 1000 + i) : `${1700000000 + i}.M${i}P7.host`;
    const file = path.join(home, sub, name);
    fs.writeFileSync(file, Buffer.concat([header, Buffer.from(`body ${i}\n`)]));
    fs.utimesSync(file, 1_700_000_000 + i, 1_700_000_000 + i);
  });
  const copy = tempDir();
  fs.cpSync(root, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  assert.equal(mailstore(["index", "--root", root, "ida"]).status, 0);
  assert.equal(mailstore(["index", "--root", copy, "ida"], { env: { MAILSTORE_NO_NATIVE: "1" } }).status, 0);
  const withAddon = dumpIndex(home) as { messages: Array<{ broken: number }> };
  assert.equal(withAddon.messages.length, all.length);
  assert.ok(withAddon.messages.filter((m) => m.broken).length >= 4);
  assert.deepEqual(withAddon, dumpIndex(path.join(copy, path.relative(root, home))));
});

test("a file that could not be read gets the row readMessage makes of it: broken, with an empty header's fields", () => {
  const { maildir, opened } = emptyMaildir("unread");
  messageAppender(opened.db, maildir, maildir);
  const insert = fedRowsInsert(opened.db);
  assert.ok(insert);
  const files = [
    { name: "1700000000.M1P7.host,S=50:2,S", subdir: "cur" as const },
    { name: "1700000001.M2P7.host", subdir: "new" as const },
  ];
  // What readHeads gives for a file it could not open, and for one it read.
  const heads: MessageHead[] = [
    { block: Buffer.alloc(0), size: 0, received: 0, failed: true },
    { block: Buffer.from("Subject: read\nDate: Thu, 18 Sep 2008 17:00:04 +0200\n\n"), size: 70, received: 1_700_000_001_000, failed: false },
  ];
  assert.equal(insert(1, 1, batchOfHeads(files, heads)), 2);
  const summary = emptySummary(maildir);
  const expected = files.map((f, i) => {
    const row = rowValues(readMessage(messageFileOf(f.name, f.subdir), summary, heads[i]), 1, i + 1);
    return Object.fromEntries(["folder_id", "uid", "base", "subdir", "info", "flags", "size", "received", "date", "from_addr", "to_addr", "cc_addr", "subject", "message_id", "in_reply_to", "refs", "has_attachments", "broken"].map((c, k) => [c, row[k]]));
  });
  assert.deepEqual(rowsOf(opened.db), expected);
  assert.equal(summary.broken, 1);
  opened.db.close();
});

test("the addon exports only its entry points: SQLite loads it into the global symbol scope", () => {
  const file = nativeAddonFile();
  assert.ok(file, "the addon is built (npm install)");
  // nm comes with the C toolchain the addon is built with (binutils).
  const nm = spawnSync("nm", ["-D", "--defined-only", file], { encoding: "utf8" });
  assert.equal(nm.status, 0, nm.stderr);
  const exported = nm.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[2])
    .filter(Boolean)
    .sort();
  assert.deepEqual(exported, ["napi_register_module_v1", "node_api_module_get_api_version_v1", "sqlite3_fsops_init"]);
});

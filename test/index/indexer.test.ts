import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { INDEX_FILE } from "../../src/index/db.js";
import { HeadBatches, indexMaildir } from "../../src/index/indexer.js";
import { listMessages, mailboxStat } from "../../src/index/query.js";
import { dumpIndex } from "../helpers/index-dump.js";
import { migratedMaildir } from "../helpers/maildir.js";

const mailbox = async (n: number, extraHeaders?: string[]) => (await migratedMaildir(n, extraHeaders)).maildir;

const files = (maildir: string, sub: string) => fs.readdirSync(path.join(maildir, sub));

test("a full index agrees with the files on disk: counts, sizes, flags, decoded headers", async () => {
  const maildir = await mailbox(20, Array.from({ length: 20 }, (_, i) => (i % 2 ? "Status: RO\n" : i % 5 === 0 ? "X-Status: F\nStatus: O\n" : "")));
  const summary = indexMaildir(maildir);
  assert.equal(summary.added, 20);
  const stat = mailboxStat("nina", maildir);
  const all = [...files(maildir, "new").map((n) => ["new", n]), ...files(maildir, "cur").map((n) => ["cur", n])];
  assert.equal(stat.messages, all.length);
  assert.equal(stat.bytes, all.reduce((a, [s, n]) => a + fs.statSync(path.join(maildir, s, n)).size, 0));
  const inbox = stat.folders[0];
  assert.equal(inbox.unseen, all.filter(([, n]) => !/:2,[A-Z]*S/.test(n)).length);
  assert.equal(inbox.flagged, all.filter(([, n]) => /:2,[A-Z]*F/.test(n)).length);
  assert.equal(inbox.recent, files(maildir, "new").length);
  const list = listMessages(maildir);
  assert.deepEqual(list.map((m) => m.uid), Array.from({ length: 20 }, (_, i) => i + 1), "UIDs follow delivery order");
  assert.ok(list.every((m) => m.subject.length > 0 && !m.subject.includes("=?")), "subjects decoded");
});

test("a first index built in memory is the one built on disk: same rows, WAL mode, nothing left aside", async () => {
  const maildir = await mailbox(40, Array.from({ length: 40 }, (_, i) => (i % 3 ? "Status: RO\n" : "")));
  const onDisk = `${maildir}-copy`;
  fs.cpSync(maildir, onDisk, { recursive: true, preserveTimestamps: true });
  indexMaildir(maildir);
  process.env.MAILSTORE_INDEX_MEMORY_MAX_MESSAGES = "0";
  try {
    indexMaildir(onDisk);
  } finally {
    delete process.env.MAILSTORE_INDEX_MEMORY_MAX_MESSAGES;
  }
  assert.deepEqual(dumpIndex(maildir), dumpIndex(onDisk));
  for (const home of [maildir, onDisk]) {
    const db = new Database(path.join(home, INDEX_FILE));
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("quick_check", { simple: true }), "ok");
    } finally {
      db.close();
    }
    assert.deepEqual(fs.readdirSync(home).filter((n) => n.startsWith(INDEX_FILE)), [INDEX_FILE]);
    // Like the mail beside it: 0600 (its owner is the Maildir's, see test/cli/index.test.ts).
    assert.equal(fs.statSync(path.join(home, INDEX_FILE)).mode & 0o777, 0o600, home);
  }
});

test("renamed (flags), expunged, delivered: UIDs kept, never reused; a renamed file is not reread", async () => {
  const maildir = await mailbox(6);
  indexMaildir(maildir);
  const before = listMessages(maildir);
  const second = files(maildir, "new").sort()[1];
  const target = path.join(maildir, "cur", `${second}:2,S`);
  fs.renameSync(path.join(maildir, "new", second), target);
  fs.writeFileSync(target, "Subject: replaced behind the index's back\n\nx\n");
  const [sub, base] = before[4].file.split("/");
  fs.unlinkSync(path.join(maildir, sub, files(maildir, sub).find((n) => n.startsWith(base)) as string));
  fs.writeFileSync(path.join(maildir, "new", "2000000000.M1P1.host,S=30"), "Subject: new one\nFrom: a@b\n\nhi\n");
  const s = indexMaildir(maildir);
  assert.deepEqual([s.added, s.renamed, s.removed], [1, 1, 1]);
  const after = listMessages(maildir);
  const moved = after.find((m) => m.file.endsWith(second.split(",")[0]));
  assert.equal(moved?.uid, before.find((m) => m.file.endsWith(second.split(",")[0]))?.uid);
  assert.equal(moved?.flags, "S");
  assert.equal(moved?.subject, before.find((m) => m.uid === moved?.uid)?.subject, "flags-only change: not reread");
  assert.equal(after.find((m) => m.subject === "new one")?.uid, 7, "new mail gets a UID above all before");
  assert.equal(mailboxStat("nina", maildir).folders[0].uidNext, 8);
});

test("a change in the same second as the last scan is still seen", async () => {
  const maildir = await mailbox(2);
  indexMaildir(maildir);
  const newDir = path.join(maildir, "new");
  const st = fs.statSync(newDir);
  fs.writeFileSync(path.join(newDir, "2000000001.M1P1.host"), "Subject: same second\n\nx\n");
  fs.utimesSync(newDir, st.atime, st.mtime);
  assert.equal(indexMaildir(maildir).added, 1);
});

test("unchanged folders are skipped; new and deleted folders are picked up", async () => {
  const maildir = await mailbox(3);
  indexMaildir(maildir);
  // Age the directories, so their mtimes count as settled.
  const past = new Date(Date.now() - 60_000);
  for (const sub of ["cur", "new"]) fs.utimesSync(path.join(maildir, sub), past, past);
  indexMaildir(maildir);
  assert.equal(indexMaildir(maildir).unchangedFolders, 1);
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(maildir, ".Sent", sub), { recursive: true });
  fs.writeFileSync(path.join(maildir, ".Sent", "cur", "2000000002.M1P1.host:2,S"), "Subject: sent\n\nx\n");
  const s = indexMaildir(maildir);
  assert.deepEqual([s.folders, s.unchangedFolders, s.added], [2, 1, 1]);
  assert.deepEqual(mailboxStat("nina", maildir).folders.map((f) => f.name), ["INBOX", "Sent"]);
  fs.rmSync(path.join(maildir, ".Sent"), { recursive: true });
  indexMaildir(maildir);
  assert.deepEqual(mailboxStat("nina", maildir).folders.map((f) => f.name), ["INBOX"]);
});

test("broken files are indexed with what can be read and counted; a damaged index is set aside and rebuilt", async () => {
  const maildir = await mailbox(2);
  fs.writeFileSync(path.join(maildir, "new", "2000000003.M1P1.host"), "");
  fs.writeFileSync(path.join(maildir, "new", "2000000004.M1P1.host"), Buffer.from([0, 1, 2, 0xff, 0x0a, 0x0a]));
  const first = indexMaildir(maildir);
  assert.equal(first.broken, 2);
  assert.equal(mailboxStat("nina", maildir).messages, 4);
  fs.writeFileSync(path.join(maildir, INDEX_FILE), "this is not a database, just garbage that was written here ".repeat(100));
  for (const extra of ["-wal", "-shm"]) fs.rmSync(path.join(maildir, INDEX_FILE + extra), { force: true });
  const rebuilt = indexMaildir(maildir);
  assert.match(rebuilt.setAside ?? "", /damaged/);
  assert.deepEqual(rebuilt.uidValidityChanged, ["INBOX"]);
  assert.equal(mailboxStat("nina", maildir).messages, 4);
  assert.ok(fs.readdirSync(maildir).some((n) => n.startsWith(`${INDEX_FILE}.damaged-`)));
});

test("removals, renames and re-reads spread over many pages of stored rows give the index one page would", async () => {
  const maildir = await mailbox(14, Array.from({ length: 14 }, (_, i) => (i % 4 ? "" : "Status: RO\n")));
  indexMaildir(maildir);
  const copy = `${maildir}-one-page`;
  fs.cpSync(maildir, copy, { recursive: true, preserveTimestamps: true });
  const byDelivery = [...files(maildir, "new").map((n) => ["new", n]), ...files(maildir, "cur").map((n) => ["cur", n])].sort((a, b) => (a[1] < b[1] ? -1 : 1));
  for (const home of [maildir, copy]) {
    // Expunged: the first, one in the middle, the last.
    for (const at of [0, 6, 13]) fs.unlinkSync(path.join(home, ...byDelivery[at]));
    // Flags changed on three, one of them rewritten behind the index's back (seen only by a full pass).
    for (const at of [2, 7, 11]) {
      const [sub, name] = byDelivery[at];
      const moved = path.join(home, "cur", `${name.split(":")[0]}:2,${sub === "cur" ? "FS" : "S"}`);
      fs.renameSync(path.join(home, sub, name), moved);
      if (at === 7) fs.writeFileSync(moved, "Subject: rewritten\nFrom: a@b.example\n\nx\n");
    }
    fs.writeFileSync(path.join(home, "new", "2000000000.M1P1.host"), "Subject: delivered later\nFrom: c@d.example\n\nhi\n");
    // Files written in both trees keep the same mtime (the index's received time).
    for (const sub of ["new", "cur"]) for (const name of files(home, sub)) fs.utimesSync(path.join(home, sub, name), 1_700_000_000, 1_700_000_000);
  }
  const paged = indexMaildir(maildir, { pageRows: 2 });
  const whole = indexMaildir(copy);
  assert.deepEqual([paged.added, paged.renamed, paged.removed], [1, 3, 3]);
  assert.deepEqual([whole.added, whole.renamed, whole.removed], [1, 3, 3]);
  assert.deepEqual(dumpIndex(maildir), dumpIndex(copy));
  assert.equal(listMessages(maildir).filter((m) => m.subject === "rewritten").length, 0, "a rename alone is not reread");

  const fullPaged = indexMaildir(maildir, { full: true, pageRows: 3 });
  indexMaildir(copy, { full: true });
  assert.equal(fullPaged.added + fullPaged.removed, 0);
  assert.deepEqual(dumpIndex(maildir), dumpIndex(copy));
  assert.equal(listMessages(maildir).filter((m) => m.subject === "rewritten").length, 1, "a full pass rereads every file");
  assert.equal(listMessages(maildir).length, 12);
});

test("a folder without new/ (made by another tool) is indexed; a new/ made later is seen", async () => {
  const maildir = await mailbox(3);
  for (const name of files(maildir, "new")) fs.renameSync(path.join(maildir, "new", name), path.join(maildir, "cur", `${name}:2,S`));
  fs.rmdirSync(path.join(maildir, "new"));
  const old = new Date(Date.now() - 10_000);
  fs.utimesSync(path.join(maildir, "cur"), old, old);
  // The first index is built in memory when the folder holds few enough files: counted first.
  assert.equal(indexMaildir(maildir).added, 3);
  assert.equal(indexMaildir(maildir).unchangedFolders, 1, "nothing changed: not listed again");
  fs.mkdirSync(path.join(maildir, "new"));
  fs.writeFileSync(path.join(maildir, "new", "2000000000.M1P1.host"), "Subject: after new/ came back\n\nx\n");
  fs.utimesSync(path.join(maildir, "new"), old, old);
  assert.equal(indexMaildir(maildir).added, 1);
  assert.equal(mailboxStat("nina", maildir).folders[0].recent, 1);
});

test("heads are read in batches of about 8 MB: a thousand files of ordinary mail, fewer of huge headers", () => {
  const sizes = new HeadBatches();
  assert.equal(sizes.size, 100, "a folder's first batch is small");
  sizes.read(100, 130 * 1024);
  assert.equal(sizes.size, 1000, "ordinary headers: a thousand");
  sizes.read(1000, 60 * 1000 * 1024);
  assert.equal(sizes.size, 136, "60 KB headers: 136 make 8 MB");
  sizes.read(136, 136 * 2 * 1024);
  assert.equal(sizes.size, 1000, "back to a thousand when the headers shrink");
  sizes.read(20, 0);
  assert.equal(sizes.size, 1000, "files without a header (empty, unreadable)");
});

test("a mailbox of huge headers is indexed in smaller batches: every file once, UIDs in delivery order, a full pass changes nothing", async () => {
  // Every real message with ~60 KB more header (X-Filler lines): a thousand such heads would be 60 MB.
  const filler = `X-Filler: ${"f".repeat(70)}\n`.repeat(740);
  const maildir = await mailbox(138, Array.from({ length: 138 }, (_, i) => (i % 3 ? filler : `Status: RO\n${filler}`)));
  const summary = indexMaildir(maildir);
  assert.equal(summary.added, 138);
  const list = listMessages(maildir);
  assert.deepEqual(list.map((m) => m.uid), Array.from({ length: 138 }, (_, i) => i + 1));
  // Delivery order: by the name's seconds, then its M (sequence) field, as numbers.
  const key = (name: string) => name.split(".").slice(0, 2).map((part) => Number(part.replace(/^M(\d+)P.*$/, "$1")));
  const baseOf = (name: string) => name.split(/[,:]/)[0];
  const byDelivery = [...files(maildir, "new"), ...files(maildir, "cur")].map(baseOf).sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  assert.deepEqual(list.map((m) => baseOf(path.basename(m.file))), byDelivery, "in delivery order, across the batch boundary");
  const before = dumpIndex(maildir);
  const full = indexMaildir(maildir, { full: true });
  assert.deepEqual([full.added, full.removed], [0, 0]);
  assert.deepEqual(dumpIndex(maildir), before);
});

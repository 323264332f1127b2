import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { type MigrateOptions, migrateMailbox } from "../../src/migrate/mailbox.js";
import { verifyMailbox } from "../../src/migrate/verify.js";
import { buildMbox, maildirMessages, realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";

const base = (root: string): MigrateOptions => ({ root, fanout: [2, 2], format: "auto", sync: "durable", dryRun: false, followSymlinks: false, lockTimeoutMs: 2000 });

test("a mailbox lands byte for byte, in order, with flags, dates and S= sizes", async () => {
  const dir = tempDir();
  const msgs = realMessages("lf", 30).map((m) => m.bytes);
  const extra = msgs.map((_, i) => (i % 3 === 0 ? "Status: RO\nX-Status: A\n" : i % 3 === 1 ? "Status: O\n" : ""));
  const built = buildMbox(msgs, "mboxrd", { extraHeaders: extra });
  const src = path.join(dir, "alice");
  fs.writeFileSync(src, built.mbox);
  const r = await migrateMailbox({ source: src, user: "alice" }, base(path.join(dir, "root")));
  assert.equal(r.status, "migrated", r.error);
  assert.equal(r.messages, 30);
  const got = maildirMessages(userMaildir(path.join(dir, "root"), "alice"));
  assert.equal(got.length, 30);
  got.forEach((m, i) => {
    assert.ok(m.bytes.equals(built.expected[i]), `message ${i}`);
    assert.match(m.name, new RegExp(`,S=${m.bytes.length}(:2,|$)`));
    if (i % 3 === 0) assert.ok(m.sub === "cur" && m.name.endsWith(":2,RS"), m.name);
    if (i % 3 === 1) assert.ok(m.sub === "cur" && m.name.endsWith(":2,"), m.name);
    if (i % 3 === 2) assert.ok(m.sub === "new" && !m.name.includes(":"), m.name);
  });
  // mtime is the From_ line date (the first one is zone-less: local time)
  const first = fs.statSync(path.join(userMaildir(path.join(dir, "root"), "alice"), got[0].sub, got[0].name));
  assert.equal(first.mtime.getTime(), new Date(2001, 0, 1, 12, 0, 0).getTime());
  const second = fs.statSync(path.join(userMaildir(path.join(dir, "root"), "alice"), got[1].sub, got[1].name));
  assert.equal(second.mtime.toISOString(), "2002-09-03T12:34:56.000Z");
  const mode = fs.statSync(path.join(userMaildir(path.join(dir, "root"), "alice"), "cur")).mode & 0o777;
  assert.equal(mode, 0o700);
  assert.equal(fs.statSync(path.join(userMaildir(path.join(dir, "root"), "alice"), got[0].sub, got[0].name)).mode & 0o777, 0o600);
  assert.equal(fs.readdirSync(path.join(userMaildir(path.join(dir, "root"), "alice"), "tmp")).length, 0);
});

test("small windows, groups and batches (the reader's buffers reused) still land every message byte for byte", async () => {
  const dir = tempDir();
  const originals = realMessages("lf").map((m) => m.bytes);
  const built = buildMbox(Array.from({ length: 4 }, () => originals).flat(), "mboxrd");
  const src = path.join(dir, "dave");
  fs.writeFileSync(src, built.mbox);
  const r = await migrateMailbox({ source: src, user: "dave" }, { ...base(path.join(dir, "root")), index: false, windowBytes: 4096, groupMessages: 2, batchMessages: 25 });
  assert.equal(r.status, "migrated", r.error);
  const got = maildirMessages(userMaildir(path.join(dir, "root"), "dave"));
  assert.equal(got.length, built.expected.length);
  got.forEach((m, i) => assert.ok(m.bytes.equals(built.expected[i]), `message ${i}`));
});

test("the folder-data pseudo message is not migrated; folders are Maildir++", async () => {
  const dir = tempDir();
  const src = path.join(dir, "bob");
  const pseudo = "From MAILER_DAEMON Wed Oct 10 10:10:10 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1002704010 0000000002\n\ninternal\n\n";
  const built = buildMbox(realMessages("lf", 2).map((m) => m.bytes), "mboxrd");
  fs.writeFileSync(src, Buffer.concat([Buffer.from(pseudo), built.mbox]));
  const r = await migrateMailbox({ source: src, user: "bob", folder: "Archive/2019" }, base(path.join(dir, "root")));
  assert.equal(r.status, "migrated", r.error);
  assert.equal(r.skippedPseudo, 1);
  const folder = path.join(userMaildir(path.join(dir, "root"), "bob"), ".Archive.2019");
  assert.ok(fs.existsSync(path.join(folder, "maildirfolder")));
  assert.equal(maildirMessages(folder).length, 2);
});

test("a rerun adds nothing; a grown source adds only the new messages; a rewritten one fails untouched", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = path.join(dir, "carol");
  const all = realMessages("lf", 12).map((m) => m.bytes);
  fs.writeFileSync(src, buildMbox(all.slice(0, 8), "mboxrd").mbox);
  assert.equal((await migrateMailbox({ source: src, user: "carol" }, base(root))).messages, 8);
  const tmpMtime = () => fs.statSync(path.join(userMaildir(root, "carol"), "tmp")).mtimeMs;
  const tmpBefore = tmpMtime();
  const again = await migrateMailbox({ source: src, user: "carol" }, base(root));
  assert.equal(again.status, "unchanged");
  assert.equal(again.messages, 0);
  fs.utimesSync(src, new Date(), new Date(Date.now() + 5000));
  const touched = await migrateMailbox({ source: src, user: "carol" }, base(root));
  assert.deepEqual([touched.status, touched.messages], ["unchanged", 0], "touched, same bytes");
  assert.equal(tmpMtime(), tmpBefore, "runs that deliver nothing leave tmp/ untouched");
  fs.appendFileSync(src, buildMbox(all.slice(8), "mboxrd").mbox);
  const grown = await migrateMailbox({ source: src, user: "carol" }, base(root));
  assert.equal(grown.status, "resumed", grown.error);
  assert.equal(grown.messages, 4);
  assert.equal(maildirMessages(userMaildir(root, "carol")).length, 12);
  const v = await verifyMailbox({ source: src, user: "carol" }, base(root));
  assert.equal(v.status, "ok", JSON.stringify(v));

  const before = fs.readFileSync(src);
  const rewritten = Buffer.from(before);
  rewritten[before.indexOf("Subject") + 2] ^= 0x20;
  fs.writeFileSync(src, rewritten);
  const changed = await migrateMailbox({ source: src, user: "carol" }, base(root));
  assert.equal(changed.status, "failed");
  assert.match(changed.error ?? "", /changed since 12 message\(s\) were migrated/);
  assert.ok(fs.readFileSync(src).equals(rewritten));
  assert.equal(maildirMessages(userMaildir(root, "carol")).length, 12);
});

test("a dry run reads and plans but writes nothing", async () => {
  const dir = tempDir();
  const src = path.join(dir, "dave");
  writeRealMbox(src, 5);
  const r = await migrateMailbox({ source: src, user: "dave" }, { ...base(path.join(dir, "root")), dryRun: true });
  assert.equal(r.status, "planned");
  assert.equal(r.messages, 5);
  assert.equal(fs.existsSync(path.join(dir, "root")), false);
});

test("a symlinked source is refused unless asked; a symlink inside the target is never followed", async () => {
  const dir = tempDir();
  const real = path.join(dir, "real");
  writeRealMbox(real, 1);
  fs.symlinkSync(real, path.join(dir, "frank"));
  const refused = await migrateMailbox({ source: path.join(dir, "frank"), user: "frank" }, base(path.join(dir, "root")));
  assert.match(refused.error ?? "", /symlink/);
  const followed = await migrateMailbox({ source: path.join(dir, "frank"), user: "frank" }, { ...base(path.join(dir, "root")), followSymlinks: true });
  assert.equal(followed.status, "migrated", followed.error);

  const root = path.join(dir, "root2");
  const outside = path.join(dir, "outside");
  fs.mkdirSync(outside);
  const userDir = userMaildir(root, "gina");
  fs.mkdirSync(path.dirname(userDir), { recursive: true });
  fs.symlinkSync(outside, userDir);
  const r = await migrateMailbox({ source: real, user: "gina" }, base(root));
  assert.equal(r.status, "failed");
  assert.match(r.error ?? "", /symlink/);
  assert.deepEqual(fs.readdirSync(outside), []);
});

test("a locked mbox waits, then fails alone", async () => {
  const dir = tempDir();
  const src = path.join(dir, "hank");
  writeRealMbox(src, 1);
  fs.writeFileSync(`${src}.lock`, "999\n");
  const waiting = migrateMailbox({ source: src, user: "hank" }, { ...base(path.join(dir, "root")), lockTimeoutMs: 300 });
  // While it waits, its own dotlock file (to be linked to hank.lock) is hidden: a glob of the
  // spool by another run, such as another shard's, must see mailboxes and dotlocks only.
  await new Promise((r) => setTimeout(r, 100));
  const listed = fs.readdirSync(dir);
  assert.ok(listed.some((n) => n.startsWith(".hank.lock.")), listed.join(" "));
  assert.deepEqual(listed.filter((n) => !n.startsWith(".")).sort(), ["hank", "hank.lock"]);
  const r = await waiting;
  assert.equal(r.status, "failed");
  assert.match(r.error ?? "", /hank\.lock exists/);
  fs.unlinkSync(`${src}.lock`);
  const ok = await migrateMailbox({ source: src, user: "hank" }, base(path.join(dir, "root")));
  assert.equal(ok.status, "migrated");
  assert.equal(fs.existsSync(`${src}.lock`), false);
});

test("a dotlock left by a dead mailstore of this host is broken; one held by a live process is not", async () => {
  const dir = tempDir();
  const src = path.join(dir, "lena");
  writeRealMbox(src, 1);
  fs.writeFileSync(`${src}.lock`, `${2 ** 22 + 12345}:${os.hostname()}\n`);
  const ok = await migrateMailbox({ source: src, user: "lena" }, { ...base(path.join(dir, "root")), lockTimeoutMs: 300 });
  assert.equal(ok.status, "migrated", ok.error);
  fs.writeFileSync(`${src}.lock`, `${process.ppid}:${os.hostname()}\n`);
  writeRealMbox(src, 1, { append: true });
  const held = await migrateMailbox({ source: src, user: "lena" }, { ...base(path.join(dir, "root")), lockTimeoutMs: 300 });
  assert.equal(held.status, "failed");
});

test("keywords reach file names and dovecot-keywords; --owner sets the owner of all that is created, the journal and index included", async () => {
  const dir = tempDir();
  const src = path.join(dir, "mike");
  const msgs = realMessages("lf", 2).map((m) => m.bytes);
  fs.writeFileSync(src, buildMbox(msgs, "mboxrd", { extraHeaders: ["X-Keywords: $Label1 Junk\nStatus: RO\n", "X-Keywords: Junk\n"] }).mbox);
  const root = path.join(dir, "root");
  const asRoot = process.getuid?.() === 0;
  const r = await migrateMailbox({ source: src, user: "mike" }, { ...base(root), owner: asRoot ? { uid: 1234, gid: 5678 } : undefined });
  assert.equal(r.status, "migrated", r.error);
  const maildir = userMaildir(root, "mike");
  assert.equal(fs.readFileSync(path.join(maildir, "dovecot-keywords"), "utf8"), "0 $Label1\n1 Junk\n");
  const names = maildirMessages(maildir).map((m) => m.name);
  assert.match(names[0], /:2,Sab$/);
  assert.match(names[1], /:2,b$/);
  if (asRoot) {
    for (const p of [maildir, path.join(maildir, "cur"), path.join(maildir, "cur", names[0]), path.join(maildir, "dovecot-keywords")]) {
      const st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid], [1234, 5678], p);
    }
    assert.equal(fs.statSync(path.dirname(maildir)).uid, 0, "hash buckets stay root's");
    // mailstore's own files in the Maildir too: else the mail user's cron or front end cannot use them.
    assert.equal(r.indexed, true);
    for (const name of ["mailstore-journal.sqlite", "mailstore.sqlite", "mailstore-index.lock"]) {
      const st = fs.statSync(path.join(maildir, name));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1234, 5678, 0o600], name);
    }
  }
});

test("a journal or index planted as a symlink in a user's Maildir is refused, nothing written through it", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = path.join(dir, "oscar");
  writeRealMbox(src, 2);
  const maildir = userMaildir(root, "oscar");
  fs.mkdirSync(maildir, { recursive: true });
  const victim = path.join(dir, "victim");
  fs.symlinkSync(victim, path.join(maildir, "mailstore-journal.sqlite-wal"));
  const r = await migrateMailbox({ source: src, user: "oscar" }, base(root));
  assert.equal(r.status, "failed");
  assert.match(r.error ?? "", /refusing to open .*mailstore-journal\.sqlite-wal: it is a symlink/);
  assert.equal(fs.existsSync(victim), false);

  fs.unlinkSync(path.join(maildir, "mailstore-journal.sqlite-wal"));
  fs.symlinkSync(victim, path.join(maildir, "mailstore.sqlite"));
  const again = await migrateMailbox({ source: src, user: "oscar" }, base(root));
  assert.equal(again.status, "migrated", again.error);
  assert.match(again.warnings.join("\n"), /index not updated: refusing to open .*mailstore\.sqlite: it is a symlink/);
  assert.equal(fs.existsSync(victim), false);
});

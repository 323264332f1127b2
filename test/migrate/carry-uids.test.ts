import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { UIDLIST_FILE, UIDLIST_LOCK } from "../../src/maildir/uidlist.js";
import { type MigrateOptions, migrateMailbox } from "../../src/migrate/mailbox.js";
import { verifyMailbox } from "../../src/migrate/verify.js";
import { buildMbox, FIXTURES, maildirMessages, realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";

// fixtures/mbox/dovecot-uids: an mbox Dovecot itself wrote (X-IMAPbase, X-UID, UIDs 3 and 7 expunged).
const DOVECOT_MBOX = path.join(FIXTURES, "mbox", "dovecot-uids");
// fixtures/mbox/uw-imap-uids: one UW-IMAP's c-client wrote (a pseudo message, X-UIDs with gaps).
const UW_MBOX = path.join(FIXTURES, "mbox", "uw-imap-uids");
const options = (root: string): MigrateOptions => ({ root, fanout: [2, 2], format: "auto", sync: "durable", dryRun: false, followSymlinks: false, lockTimeoutMs: 2000, index: false });

function uidlistOf(folder: string): { header: string; entries: Array<{ uid: number; fields: string; file: string }> } {
  const [header, ...lines] = fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8").trimEnd().split("\n");
  return {
    header,
    entries: lines.map((line) => {
      const m = /^(\d+) (.*?):(.+)$/.exec(line) as RegExpExecArray;
      return { uid: Number(m[1]), fields: m[2].trim(), file: m[3] };
    }),
  };
}

/** Each listed file's own X-UID header must be the UID the list gives it. */
function assertListMatchesFiles(folder: string, entries: Array<{ uid: number; file: string }>, withXUid: number): void {
  const files = maildirMessages(folder);
  const byBase = new Map(files.map((f) => [f.name.split(":")[0], f]));
  entries.forEach((entry, i) => {
    const file = byBase.get(entry.file);
    assert.ok(file, `listed file ${entry.file} is in the folder`);
    if (i < withXUid) assert.equal(Number(/^X-UID: *(\d+)/m.exec(file.bytes.toString("latin1"))?.[1]), entry.uid, entry.file);
  });
}

function copyOfFixture(dir: string, user: string): string {
  const src = path.join(dir, user);
  fs.copyFileSync(DOVECOT_MBOX, src);
  return src;
}

/** The Dovecot fixture migrated for `user`, and the list that first run wrote. */
async function migratedFixture(user: string): Promise<{ root: string; src: string; folder: string; list: string }> {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = copyOfFixture(dir, user);
  const folder = userMaildir(root, user);
  assert.equal((await migrateMailbox({ source: src, user }, options(root))).status, "migrated");
  return { root, src, folder, list: fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8") };
}

test("Dovecot's X-UIDs and X-IMAPbase become the folder's dovecot-uidlist, each file under its old UID", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = copyOfFixture(dir, "alice");
  const planned = await migrateMailbox({ source: src, user: "alice" }, { ...options(root), dryRun: true });
  assert.equal(planned.status, "planned", planned.error);
  assert.deepEqual(planned.uids && [planned.uids.carried, planned.uids.renumbered], [35, 0]);
  assert.equal(fs.existsSync(root), false);
  const r = await migrateMailbox({ source: src, user: "alice" }, options(root));
  assert.equal(r.status, "migrated", r.error);
  const [validity, last] = (/^X-IMAPbase: (\d+) (\d+)/m.exec(fs.readFileSync(src, "latin1")) as RegExpExecArray).slice(1).map(Number);
  assert.deepEqual(r.uids, { validity, carried: 35, renumbered: 0 });
  const list = uidlistOf(userMaildir(root, "alice"));
  assert.equal(list.header, `3 V${validity} N${last + 1}`);
  assert.equal(list.entries.length, 35);
  assert.ok(!list.entries.some((e) => e.uid === 3 || e.uid === 7), "expunged UIDs stay unused");
  assertListMatchesFiles(userMaildir(root, "alice"), list.entries, 35);
  assert.equal(fs.existsSync(path.join(userMaildir(root, "alice"), UIDLIST_LOCK)), false);
});

test("a UW-IMAP mbox: the pseudo message's X-IMAP gives UIDVALIDITY and the last UID, past the UIDs of messages expunged", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = path.join(dir, "uw");
  fs.copyFileSync(UW_MBOX, src);
  const r = await migrateMailbox({ source: src, user: "uw" }, options(root));
  assert.equal(r.status, "migrated", r.error);
  assert.equal(r.skippedPseudo, 1);
  const [validity, last] = (/^X-IMAP: (\d+) (\d+)/m.exec(fs.readFileSync(src, "latin1")) as RegExpExecArray).slice(1).map(Number);
  const xuids = [...fs.readFileSync(src, "latin1").matchAll(/^X-UID: (\d+)/gm)].map((m) => Number(m[1]));
  assert.deepEqual(r.uids, { validity, carried: xuids.length, renumbered: 0 });
  const list = uidlistOf(userMaildir(root, "uw"));
  assert.equal(list.header, `3 V${validity} N${last + 1}`);
  assert.deepEqual(list.entries.map((e) => e.uid), xuids);
  assertListMatchesFiles(userMaildir(root, "uw"), list.entries, xuids.length);
});

test("mail appended since the old server numbered it gets the next UIDs on the next run; once Dovecot has taken the list over it is left alone", async () => {
  const { root, src, folder, list: before } = await migratedFixture("bob");

  const [one, two, three] = realMessages("lf", 3).map((m) => m.bytes);
  fs.appendFileSync(src, buildMbox([one], "mboxrd").mbox);
  const r = await migrateMailbox({ source: src, user: "bob" }, options(root));
  assert.equal(r.status, "resumed", r.error);
  assert.deepEqual(r.uids && [r.uids.carried, r.uids.renumbered], [35, 1]);
  const after = fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8");
  const list = uidlistOf(folder);
  assert.equal(list.header.split(" ")[2], "N39");
  assert.equal(list.entries.at(-1)?.uid, 38);
  assert.equal(after.slice(after.indexOf("\n")), `${before.slice(before.indexOf("\n"))}${list.entries.at(-1)?.uid} :${list.entries.at(-1)?.file}\n`);
  assertListMatchesFiles(folder, list.entries, 35);

  // Dovecot has numbered a new delivery and rewritten the list: mailstore no longer owns it.
  const dovecots = `${after.replace(/ N39$/m, " N40 G2c29dd35b4ac166bc06c000083ecc375")}39 :1796649999.M1P2.mx,S=10\n`;
  fs.writeFileSync(path.join(folder, UIDLIST_FILE), dovecots);
  fs.appendFileSync(src, buildMbox([two], "mboxrd").mbox);
  const third = await migrateMailbox({ source: src, user: "bob" }, options(root));
  assert.equal(third.status, "resumed", third.error);
  assert.equal(third.messages, 1);
  assert.equal(third.uids, undefined);
  // Without an X-UID or X-UIDL it had nothing to carry: Dovecot numbering it loses nothing.
  assert.deepEqual(third.warnings, []);
  assert.equal(fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8"), dovecots);
  // One with a POP3 UIDL would lose it: said, and the list still left alone.
  fs.appendFileSync(src, buildMbox([three], "mboxrd", { extraHeaders: ["X-UIDL: qp41.e4f1\n"] }).mbox);
  const fourth = await migrateMailbox({ source: src, user: "bob" }, options(root));
  assert.equal(fourth.status, "resumed", fourth.error);
  assert.match(fourth.warnings.join("\n"), /dovecot-uidlist is not the one mailstore wrote/);
  assert.equal(fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8"), dovecots);
});

/** A fresh root and a copy of the Dovecot fixture for `user`, whose folder holds a dovecot-uidlist.lock before the first run. */
function lockedBeforeFirstRun(user: string): { root: string; src: string; folder: string; lockFile: string } {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = copyOfFixture(dir, user);
  const folder = userMaildir(root, user);
  fs.mkdirSync(folder, { recursive: true });
  const lockFile = path.join(folder, UIDLIST_LOCK);
  fs.writeFileSync(lockFile, "");
  return { root, src, folder, lockFile };
}

test("a dovecot-uidlist.lock held past the lock timeout fails the mailbox with its messages delivered once; the next run writes the list", async () => {
  const { root, src, folder } = lockedBeforeFirstRun("carol");
  const r = await migrateMailbox({ source: src, user: "carol" }, options(root));
  assert.equal(r.status, "failed");
  assert.match(r.error ?? "", /carol: .*dovecot-uidlist\.lock is held/);
  assert.equal(maildirMessages(folder).length, 35);
  assert.equal(fs.existsSync(path.join(folder, UIDLIST_FILE)), false);

  fs.rmSync(path.join(folder, UIDLIST_LOCK));
  const again = await migrateMailbox({ source: src, user: "carol" }, options(root));
  assert.equal(again.status, "unchanged", again.error);
  assert.equal(again.uids?.carried, 35);
  assert.equal(maildirMessages(folder).length, 35);
  assertListMatchesFiles(folder, uidlistOf(folder).entries, 35);
});

test("a dovecot-uidlist.lock is waited for; a list Dovecot wrote before giving it up is kept, not overwritten", async () => {
  const { root, src, folder, lockFile } = lockedBeforeFirstRun("dora");
  // Dovecot's sync ends after the messages are in: its own list in place, its lock gone.
  const dovecots = "3 V1700000000 N2\n1 :1700000000.M1P1.host\n";
  const sync = setTimeout(() => {
    fs.writeFileSync(lockFile, dovecots);
    fs.renameSync(lockFile, path.join(folder, UIDLIST_FILE));
  }, 800);
  const r = await migrateMailbox({ source: src, user: "dora" }, options(root));
  clearTimeout(sync);
  assert.equal(r.status, "migrated", r.error);
  assert.equal(maildirMessages(folder).length, 35);
  assert.equal(r.uids, undefined);
  assert.match(r.warnings.join("\n"), /not the one mailstore wrote \(Dovecot has taken it over\)/);
  assert.equal(fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8"), dovecots);
  assert.equal(fs.existsSync(lockFile), false);
});

test("a grown source whose run stopped before it rewrote the list: the next run still knows the list for its own and extends it", async () => {
  const { root, src, folder, list: first } = await migratedFixture("hank");
  writeRealMbox(src, 1, { extraHeaders: ["X-UIDL: qp38.e4f1\n"], append: true });
  // The run delivers the new message, then finds the lock held: the list stays as it was.
  fs.writeFileSync(path.join(folder, UIDLIST_LOCK), "");
  const stopped = await migrateMailbox({ source: src, user: "hank" }, options(root));
  assert.equal(stopped.status, "failed");
  assert.equal(stopped.messages, 1);
  assert.equal(fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8"), first);
  fs.rmSync(path.join(folder, UIDLIST_LOCK));
  const next = await migrateMailbox({ source: src, user: "hank" }, options(root));
  assert.equal(next.status, "unchanged", next.error);
  assert.deepEqual(next.warnings, []);
  assert.deepEqual(next.uids && [next.uids.carried, next.uids.renumbered], [35, 1]);
  const list = uidlistOf(folder);
  assert.equal(list.entries.length, 36);
  assert.deepEqual(list.entries.at(-1) && [list.entries.at(-1)?.uid, list.entries.at(-1)?.fields], [38, "Pqp38.e4f1"]);
  assert.equal(maildirMessages(folder).length, 36);
});

test("UW-IMAP's pseudo message gives the UIDVALIDITY; a second mbox into the same folder brings no clashing UIDs", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const msgs = realMessages("lf", 3).map((m) => m.bytes);
  const pseudo = "From MAILER-DAEMON Wed Oct 10 10:10:10 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1002704010 0000000009\n\ninternal\n\n";
  const uw = buildMbox(msgs, "mboxrd", { extraHeaders: ["X-UID: 2\n", "X-UID: 5\n", "X-UID: 9\nX-UIDL: 3b9d8f2a00000009\n"] });
  const src = path.join(dir, "dave");
  fs.writeFileSync(src, Buffer.concat([Buffer.from(pseudo), uw.mbox]));
  const planned = await migrateMailbox({ source: src, user: "dave", folder: "Old" }, { ...options(root), dryRun: true });
  assert.deepEqual(planned.uids, { validity: 1002704010, carried: 3, renumbered: 0 });
  const r = await migrateMailbox({ source: src, user: "dave", folder: "Old" }, options(root));
  assert.equal(r.status, "migrated", r.error);
  const folder = path.join(userMaildir(root, "dave"), ".Old");
  const list = uidlistOf(folder);
  assert.equal(list.header, "3 V1002704010 N10");
  assert.deepEqual(list.entries.map((e) => [e.uid, e.fields]), [[2, ""], [5, ""], [9, "P3b9d8f2a00000009"]]);
  const text = fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8");
  const verified = await verifyMailbox({ source: src, user: "dave", folder: "Old" }, options(root));
  assert.equal(verified.status, "ok", JSON.stringify(verified));
  // A POP3 UIDL the list lost is named by verify.
  fs.writeFileSync(path.join(folder, UIDLIST_FILE), text.replace(" P3b9d8f2a00000009 ", " "));
  const lost = await verifyMailbox({ source: src, user: "dave", folder: "Old" }, options(root));
  assert.equal(lost.status, "differs");
  assert.deepEqual(
    lost.uids?.wrong.map((w) => [w.message, w.uid, w.listedUid, w.uidl, w.listedUidl]),
    [[3, 9, 9, "3b9d8f2a00000009", undefined]],
  );
  fs.writeFileSync(path.join(folder, UIDLIST_FILE), text);

  const other = path.join(dir, "dave-archive");
  fs.writeFileSync(other, buildMbox(msgs.slice(0, 1), "mboxrd", { extraHeaders: ["X-IMAPbase: 1500000000 0000000001\nX-UID: 1\n"] }).mbox);
  const second = await migrateMailbox({ source: other, user: "dave", folder: "Old" }, options(root));
  assert.equal(second.status, "migrated", second.error);
  assert.match(second.warnings.join("\n"), /not carried over: folder Old also holds the messages of .*dave\b/);
  assert.equal(fs.readFileSync(path.join(folder, UIDLIST_FILE), "utf8"), text);
});

test("an mbox without X-IMAPbase writes no list, even with an X-UID copied into a message", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = path.join(dir, "erin");
  writeRealMbox(src, 2, { extraHeaders: ["X-UID: 748\n", ""] });
  const r = await migrateMailbox({ source: src, user: "erin" }, options(root));
  assert.equal(r.status, "migrated", r.error);
  assert.equal(r.uids, undefined);
  assert.equal(fs.existsSync(path.join(userMaildir(root, "erin"), UIDLIST_FILE)), false);
});

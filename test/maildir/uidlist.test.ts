import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { FolderBase } from "../../src/mbox/imap-uids.js";
import { planUidlist, readUidlist, type UidSource, UIDLIST_FILE, UIDLIST_LOCK, writeUidlist } from "../../src/maildir/uidlist.js";
import { tempDir } from "../helpers/mbox.js";

const dovecotBase: FolderBase = { validity: 1796647924, last: 37, fromHeader: true };
const name = (i: number, info = "") => `1796648098.M${i}P1.host,S=${100 + i}${info}`;
const messages = (uids: Array<number | undefined>, base: FolderBase | null = dovecotBase, uidls: Array<string | undefined> = []): UidSource[] =>
  uids.map((uid, i) => ({ name: name(i, i % 2 ? ":2,S" : ""), uid, uidl: uidls[i], base: i === 0 && base ? base : undefined }));

test("X-UIDs under an X-IMAPbase are kept; the header is UIDVALIDITY and the next UID after the base's last", () => {
  const plan = planUidlist(messages([1, 2, 4, 37]));
  assert.equal(plan.text, `3 V1796647924 N38\n1 :${name(0)}\n2 :${name(1)}\n4 :${name(2)}\n37 :${name(3)}\n`);
  assert.deepEqual([plan.carried, plan.renumbered], [4, 0]);
});

test("an X-UID out of order or above the base's last is renumbered after the last, as Dovecot's mbox code does, and so is every one after it", () => {
  // 3 after 5 goes back; 40 is above last (37); a message without X-UID (appended since) too.
  const plan = planUidlist(messages([5, 3, 6, undefined, 40]));
  const uids = (plan.text ?? "").split("\n").slice(1, -1).map((line) => Number(line.split(" ")[0]));
  assert.deepEqual(uids, [5, 38, 39, 40, 41]);
  assert.match(plan.text ?? "", /^3 V1796647924 N42\n/);
  assert.deepEqual([plan.carried, plan.renumbered], [1, 4]);
});

test("without an X-IMAPbase, X-UIDs mean nothing (a copied header): a list is written only to carry X-UIDLs, numbered from 1", () => {
  const made: FolderBase = { validity: 1700000000, last: 0, fromHeader: false };
  assert.equal(planUidlist(messages([748, 9], made)).text, null);
  const plan = planUidlist(messages([748, undefined, undefined], made, ["UID1-a", undefined, "UID3-c"]));
  assert.equal(plan.text, `3 V1700000000 N4\n1 PUID1-a :${name(0)}\n2 :${name(1)}\n3 PUID3-c :${name(2)}\n`);
  assert.deepEqual([plan.carried, plan.renumbered], [0, 3]);
});

test("nothing is planned for a folder with nothing to carry, nor for a journal written before bases were kept", () => {
  assert.equal(planUidlist([]).text, null);
  assert.equal(planUidlist(messages([undefined, undefined])).text, null);
  assert.equal(planUidlist(messages([1, 2], null, ["a", "b"])).text, null);
});

test("the list is written through Dovecot's lock file, owned and whole; a held lock is left alone, a stale one taken over", () => {
  const dir = tempDir();
  writeUidlist(dir, "3 V1 N2\n1 :a\n", { flush: true });
  assert.equal(readUidlist(dir), "3 V1 N2\n1 :a\n");
  assert.equal(fs.statSync(path.join(dir, UIDLIST_FILE)).mode & 0o777, 0o600);
  assert.equal(fs.existsSync(path.join(dir, UIDLIST_LOCK)), false);

  // Dovecot holds the lock (and is writing its own list into it): never touched.
  fs.writeFileSync(path.join(dir, UIDLIST_LOCK), "3 V1 N3\n");
  assert.throws(() => writeUidlist(dir, "3 V1 N9\n", { flush: false }), /dovecot-uidlist\.lock is held/);
  assert.equal(fs.readFileSync(path.join(dir, UIDLIST_LOCK), "utf8"), "3 V1 N3\n");
  assert.equal(readUidlist(dir), "3 V1 N2\n1 :a\n");

  // Older than two minutes: a crashed writer's, taken over.
  const old = new Date(Date.now() - 121_000);
  fs.utimesSync(path.join(dir, UIDLIST_LOCK), old, old);
  writeUidlist(dir, "3 V1 N9\n", { flush: false });
  assert.equal(readUidlist(dir), "3 V1 N9\n");

  // A symlink planted as the lock or as the list is never written through.
  const outside = path.join(tempDir(), "victim");
  fs.writeFileSync(outside, "keep");
  fs.symlinkSync(outside, path.join(dir, UIDLIST_LOCK));
  assert.throws(() => writeUidlist(dir, "3 V1 N10\n", { flush: false }), /is held/);
  fs.rmSync(path.join(dir, UIDLIST_LOCK));
  fs.rmSync(path.join(dir, UIDLIST_FILE));
  fs.symlinkSync(outside, path.join(dir, UIDLIST_FILE));
  assert.throws(() => readUidlist(dir), /ELOOP/);
  writeUidlist(dir, "3 V1 N10\n", { flush: false });
  assert.equal(fs.readFileSync(outside, "utf8"), "keep");
  assert.equal(fs.lstatSync(path.join(dir, UIDLIST_FILE)).isFile(), true);
});

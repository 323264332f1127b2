import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { FolderBase } from "../../src/mbox/imap-uids.js";
import { planUidlist, readUidlist, type UidSource, UIDLIST_FILE, UIDLIST_LOCK, UidlistLock } from "../../src/maildir/uidlist.js";
import { REPO, tempDir } from "../helpers/mbox.js";

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

test("the list is written through Dovecot's lock file, owned and whole; a held lock is waited for and left alone, a stale one taken over", async () => {
  const dir = tempDir();
  const lockFile = path.join(dir, UIDLIST_LOCK);
  const write = async (text: string, waitMs = 0) => (await UidlistLock.take(dir, waitMs)).commit(text, { flush: true });
  await write("3 V1 N2\n1 :a\n");
  assert.equal(readUidlist(dir), "3 V1 N2\n1 :a\n");
  assert.equal(fs.statSync(path.join(dir, UIDLIST_FILE)).mode & 0o777, 0o600);
  assert.equal(fs.existsSync(lockFile), false);

  // Dovecot holds the lock (and is writing its own list into it): waited for, never touched.
  fs.writeFileSync(lockFile, "3 V1 N3\n");
  const started = Date.now();
  await assert.rejects(write("3 V1 N9\n", 300), /dovecot-uidlist\.lock is held .*waited 0 s/);
  assert.ok(Date.now() - started >= 300, "it waited");
  assert.equal(fs.readFileSync(lockFile, "utf8"), "3 V1 N3\n");
  assert.equal(readUidlist(dir), "3 V1 N2\n1 :a\n");

  // Given up while waited for (Dovecot's sync ended): taken then.
  setTimeout(() => fs.renameSync(lockFile, path.join(dir, UIDLIST_FILE)), 200);
  const lock = await UidlistLock.take(dir, 10_000);
  assert.equal(readUidlist(dir), "3 V1 N3\n", "the list as Dovecot left it is there to read under the lock");
  lock.release();
  assert.equal(fs.existsSync(lockFile), false, "given up without writing");
  assert.equal(readUidlist(dir), "3 V1 N3\n");

  // Older than two minutes: a crashed writer's, taken over at once.
  fs.writeFileSync(lockFile, "3 V1 N4\n");
  const old = new Date(Date.now() - 121_000);
  fs.utimesSync(lockFile, old, old);
  await write("3 V1 N9\n");
  assert.equal(readUidlist(dir), "3 V1 N9\n");

  // A symlink planted as the lock or as the list is never written through.
  const outside = path.join(tempDir(), "victim");
  fs.writeFileSync(outside, "keep");
  fs.symlinkSync(outside, lockFile);
  await assert.rejects(write("3 V1 N10\n", 100), /is held/);
  fs.rmSync(lockFile);
  fs.rmSync(path.join(dir, UIDLIST_FILE));
  fs.symlinkSync(outside, path.join(dir, UIDLIST_FILE));
  assert.throws(() => readUidlist(dir), /ELOOP/);
  await write("3 V1 N10\n");
  assert.equal(fs.readFileSync(outside, "utf8"), "keep");
  assert.equal(fs.lstatSync(path.join(dir, UIDLIST_FILE)).isFile(), true);
});

test("a lock a killed mailstore run left is taken over at once; one a live run holds is waited for", async (t) => {
  const dir = tempDir();
  const lockFile = path.join(dir, UIDLIST_LOCK);
  // Another process takes the lock, then dies by SIGKILL (nothing of its own runs after) or
  // stays alive holding it until its stdin closes.
  const holder = (then: "die" | "hold") => {
    const script = `
      import { UidlistLock } from "./src/maildir/uidlist.ts";
      await UidlistLock.take(${JSON.stringify(dir)}, 0);
      process.stdout.write("held\\n");
      ${then === "die" ? 'process.kill(process.pid, "SIGKILL");' : 'process.stdin.resume(); process.stdin.on("end", () => process.exit(0));'}`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: REPO, stdio: ["pipe", "pipe", "inherit"] });
    t.after(() => child.kill("SIGKILL"));
    return child;
  };
  const held = (child: ReturnType<typeof holder>) => new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
  const ended = (child: ReturnType<typeof holder>) => new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const dead = holder("die");
  await Promise.all([held(dead), ended(dead)]);
  assert.match(fs.readFileSync(lockFile, "utf8"), /^mailstore holds this lock: pid \d+ on /, "the dead run's lock is still there, fresh and marked");
  let started = Date.now();
  await (await UidlistLock.take(dir, 10_000)).commit("3 V1 N2\n1 :a\n", { flush: false });
  assert.ok(Date.now() - started < 5_000, `taken over at once, not after waiting (${Date.now() - started} ms)`);
  assert.equal(readUidlist(dir), "3 V1 N2\n1 :a\n", "the list holds no trace of the mark");

  const live = holder("hold");
  await held(live);
  started = Date.now();
  await assert.rejects(UidlistLock.take(dir, 800), /is held/);
  assert.ok(Date.now() - started >= 800, "a live holder is waited for");
  assert.match(fs.readFileSync(lockFile, "utf8"), /^mailstore holds this lock/, "and its lock left alone");
  live.stdin?.end();
  await ended(live);
  // Its own lock, still there after a clean exit without release: the holder is gone, so taken.
  await (await UidlistLock.take(dir, 10_000)).commit("3 V1 N3\n", { flush: false });
  assert.equal(readUidlist(dir), "3 V1 N3\n");
});

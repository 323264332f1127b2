import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { CLI, mailstore } from "../helpers/cli.js";
import { realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";
import { SCHED, threadPolicies } from "../helpers/proc.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("index, stat and list through the CLI agree with the Maildir files", () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  for (const [user, n] of [["olga", 12], ["pete", 5]] as const) {
    writeRealMbox(path.join(dir, user), n);
    assert.equal(mailstore(["migrate", "--root", root, "--sync", "none", "--no-index", path.join(dir, user)]).status, 0);
  }
  const idx = mailstore(["index", "--root", root, "--json"]);
  assert.equal(idx.status, 0, idx.stderr);
  assert.deepEqual(JSON.parse(idx.stdout).users.map((u: { user: string; added: number }) => [u.user, u.added]), [["olga", 12], ["pete", 5]]);

  const stat = JSON.parse(mailstore(["stat", "--root", root, "olga", "--json"]).stdout);
  const maildir = mailstore(["path", "--root", root, "olga"]).stdout.trim();
  const onDisk = ["new", "cur"].flatMap((s) => fs.readdirSync(path.join(maildir, s)).map((n) => fs.statSync(path.join(maildir, s, n)).size));
  assert.deepEqual(Object.keys(stat), ["user", "path", "indexedAt", "messages", "bytes", "folders"]);
  assert.equal(stat.messages, onDisk.length);
  assert.equal(stat.bytes, onDisk.reduce((a, b) => a + b, 0));
  assert.equal(stat.folders[0].name, "INBOX");

  const list = JSON.parse(mailstore(["list", "--root", root, "olga", "--json"]).stdout);
  assert.equal(list.length, 12);
  for (const m of list) {
    assert.deepEqual(Object.keys(m), ["folder", "uid", "file", "size", "flags", "received", "date", "from", "to", "subject", "messageId"]);
    const [sub, base] = m.file.split("/");
    const name = fs.readdirSync(path.join(maildir, sub)).find((n: string) => n.startsWith(base)) as string;
    assert.equal(fs.statSync(path.join(maildir, sub, name)).size, m.size);
  }
  const big = JSON.parse(mailstore(["list", "--root", root, "olga", "--json", "--larger-than", "4k"]).stdout);
  assert.deepEqual(big.map((m: { uid: number }) => m.uid), list.filter((m: { size: number }) => m.size > 4096).map((m: { uid: number }) => m.uid));
  assert.equal(mailstore(["stat", "--root", root, "nobody"]).status, 1);
  assert.equal(mailstore(["list", "--root", root, "olga", "--larger-than", "lots"]).status, 2);
});

test("kill -9 during a first index and during an update: the next run completes it, UIDs kept", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  writeRealMbox(path.join(dir, "quinn"), 6000);
  assert.equal(mailstore(["migrate", "--root", root, "--sync", "none", "--no-index", path.join(dir, "quinn")]).status, 0);
  const maildir = mailstore(["path", "--root", root, "quinn"]).stdout.trim();
  const killWhen = async (file: string) => {
    // On disk: a small mailbox's first index is built in memory and written out in one piece.
    const child = spawn(process.execPath, [CLI, "index", "--root", root], { stdio: "ignore", env: { ...process.env, MAILSTORE_INDEX_MEMORY_MAX_MESSAGES: "0" } });
    const exited = new Promise((r) => child.on("exit", r));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null && !(fs.existsSync(file) && fs.statSync(file).size > 200_000)) await sleep(5);
    assert.equal(child.exitCode, null, "the index run was still going when killed");
    child.kill("SIGKILL");
    await exited;
  };
  // A first index is built aside: killed, nothing half-made is in place.
  await killWhen(path.join(maildir, "mailstore.sqlite.building"));
  assert.ok(!fs.existsSync(path.join(maildir, "mailstore.sqlite")));
  const again = mailstore(["index", "--root", root, "--json"]);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(!fs.existsSync(path.join(maildir, "mailstore.sqlite.building")));
  const list = () => JSON.parse(mailstore(["list", "--root", root, "quinn", "--json"]).stdout) as { uid: number; file: string }[];
  const first = list();
  assert.equal(first.length, 6000);
  assert.equal(new Set(first.map((m) => m.uid)).size, 6000);

  // An update is written in place in batches: killed mid-way, the next run completes it.
  const files = ["cur", "new"].flatMap((sub) => fs.readdirSync(path.join(maildir, sub)).map((n) => path.join(maildir, sub, n)));
  for (let i = 0; i < 4000; i++) fs.copyFileSync(files[i % files.length], path.join(maildir, "new", `${2000000000 + i}.M${i}P1.copy`));
  await killWhen(path.join(maildir, "mailstore.sqlite-wal"));
  assert.equal(mailstore(["index", "--root", root]).status, 0);
  const after = list();
  assert.equal(after.length, 10000);
  assert.equal(new Set(after.map((m) => m.uid)).size, 10000);
  const uidOf = new Map(after.map((m) => [m.file, m.uid]));
  assert.ok(first.every((m) => uidOf.get(m.file) === m.uid), "a message keeps its UID");
});

test("migrate fills the index (unless --no-index); a mailbox another index run holds is skipped, loudly", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  writeRealMbox(path.join(dir, "rita"), 4);
  writeRealMbox(path.join(dir, "sam"), 3);
  const migrated = JSON.parse(mailstore(["migrate", "--root", root, "--json", path.join(dir, "rita")]).stdout);
  assert.equal(migrated.mailboxes[0].indexed, true);
  assert.equal(JSON.parse(mailstore(["stat", "--root", root, "rita", "--json"]).stdout).messages, 4);
  assert.equal(mailstore(["migrate", "--root", root, "--no-index", path.join(dir, "sam")]).status, 0);
  const samDir = mailstore(["path", "--root", root, "sam"]).stdout.trim();
  assert.equal(fs.existsSync(path.join(samDir, "mailstore.sqlite")), false);

  const { lock, unlock } = await import("os-lock");
  const fd = fs.openSync(path.join(samDir, "mailstore-index.lock"), "a+");
  await lock(fd, { exclusive: true });
  try {
    // The lock is held by this process: a separate index run must wait, then skip sam.
    // While it waits, its threads are seen to run as batch work (src/util/sched.ts).
    let policies = new Map<number, number>();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, "index", "--root", root, "--lock-timeout", "1", "sam", "rita"], { stdio: ["ignore", "ignore", "pipe"] });
      // The fullest look is kept: one taken as the process exits may find its last thread only.
      const watch = setInterval(() => {
        const seen = threadPolicies(child.pid as number);
        if (seen.size > policies.size) policies = seen;
      }, 50);
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => {
        clearInterval(watch);
        resolve({ code, stderr });
      });
    });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /skipped sam: .*another mailstore index holds mailstore-index\.lock/);
    assert.ok(policies.size > 1, "the waiting run's threads were read");
    assert.deepEqual(new Set(policies.values()), new Set([SCHED.BATCH]));
  } finally {
    await unlock(fd);
    fs.closeSync(fd);
  }
  assert.equal(mailstore(["index", "--root", root, "sam"]).status, 0);
  assert.equal(JSON.parse(mailstore(["stat", "--root", root, "sam", "--json"]).stdout).messages, 3);
});

test("a nightly run with nothing changed answers from the stamps; a change, a new or a replaced index is never missed", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  for (const [user, n] of [["nina", 6], ["omar", 4], ["pia", 3]] as const) {
    writeRealMbox(path.join(dir, user), n);
    assert.equal(mailstore(["migrate", "--root", root, "--sync", "none", "--no-index", path.join(dir, user)]).status, 0);
  }
  // Directory mtimes within a second of a run are not trusted: age the tree.
  const old = (Date.now() - 60_000) / 1000;
  const age = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) age(path.join(d, e.name));
    fs.utimesSync(d, old, old);
  };
  age(root);
  const run = () => {
    const r = mailstore(["index", "--root", root, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { totals: { added: number }; users: { user: string; unchanged?: boolean; added?: number; stamp?: unknown }[] };
  };
  const first = run();
  assert.equal(first.totals.added, 13);
  assert.ok(fs.existsSync(path.join(root, ".mailstore-index-state.json")));
  const second = run();
  assert.deepEqual(second.users.map((u) => [u.user, u.unchanged]), [["nina", true], ["omar", true], ["pia", true]]);
  assert.ok(second.users.every((u) => u.stamp === undefined), "stamps stay out of the summary");

  // A delivery to omar: his mailbox is indexed, the others still answered from their stamps.
  const omar = mailstore(["path", "--root", root, "omar"]).stdout.trim();
  fs.writeFileSync(path.join(omar, "new", `${Math.floor(Date.now() / 1000)}.M1P1.test`), realMessages("lf", 1)[0].bytes);
  const third = run();
  assert.deepEqual(third.users.map((u) => [u.user, u.unchanged === true, u.added ?? 0]), [["nina", true, 0], ["omar", false, 1], ["pia", true, 0]]);
  // pia's index replaced behind our back (restored from a backup, say): not trusted, rebuilt.
  const pia = mailstore(["path", "--root", root, "pia"]).stdout.trim();
  fs.rmSync(path.join(pia, "mailstore.sqlite"));
  const fourth = run();
  assert.deepEqual(fourth.users.find((u) => u.user === "pia")?.added, 3);
  const stat = JSON.parse(mailstore(["stat", "--root", root, "pia", "--json"]).stdout);
  assert.equal(stat.messages, 3);
});

// The mail user's own cron job (runuser -u nobody here) keeps the index that root's migration made.
const asNobody = (args: string[]) => spawnSync("runuser", ["-u", "nobody", "--", process.execPath, CLI, ...args], { encoding: "utf8" });
const nobodySkip =
  process.getuid?.() !== 0 ? "needs root" : spawnSync("runuser", ["-u", "nobody", "--", "test", "-r", CLI]).status !== 0 ? `nobody cannot read ${CLI}` : false;

test("run as root, the index, journal and lock belong to the Maildir's owner: the mail user reindexes and reads it", { skip: nobodySkip }, () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o711);
  const src = path.join(dir, "rosa");
  writeRealMbox(src, 6);
  fs.chownSync(src, 65534, 65534);
  const root = path.join(dir, "root");
  assert.equal(mailstore(["migrate", "--root", root, "--sync", "none", src]).status, 0);
  const maildir = mailstore(["path", "--root", root, "rosa"]).stdout.trim();
  for (const name of ["mailstore.sqlite", "mailstore-journal.sqlite", "mailstore-index.lock"]) {
    const st = fs.statSync(path.join(maildir, name));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [65534, 65534, 0o600], name);
  }
  // A delivery as the MDA makes it, then the user's nightly run.
  const delivered = path.join(maildir, "new", "2000000000.M1P1.mda");
  fs.writeFileSync(delivered, realMessages("lf", 7)[6].bytes);
  fs.chownSync(delivered, 65534, 65534);
  const again = asNobody(["index", "--root", root, "--json", "rosa"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).totals.added, 1);
  const stat = asNobody(["stat", "--root", root, "rosa", "--json"]);
  assert.equal(stat.status, 0, stat.stderr);
  assert.equal(JSON.parse(stat.stdout).messages, 7);
});

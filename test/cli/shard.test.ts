import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { shardOfUser } from "../../src/maildir/shard.js";
import { CLI, mailstore } from "../helpers/cli.js";
import { buildMbox, realMessages, tempDir } from "../helpers/mbox.js";
import { deliver, plantTree, userHome } from "../helpers/tree.js";

/** Runs the CLI as a separate process, as one host of a split job would. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

test("migrate and index split over 3 shards running at once: every user exactly once", async () => {
  const dir = tempDir();
  const spool = path.join(dir, "spool");
  fs.mkdirSync(spool);
  const msgs = realMessages("lf", 40).map((m) => m.bytes);
  const users = Array.from({ length: 30 }, (_, i) => `user${i}`);
  users.forEach((u, i) => fs.writeFileSync(path.join(spool, u), buildMbox(msgs.slice(0, 1 + (i % 3)), "mboxrd").mbox));
  const root = path.join(dir, "root");
  // The root's layout is recorded once, before the hosts start.
  assert.equal(mailstore(["migrate", "--root", root, "--dry-run", path.join(spool, "user0")]).status, 0);
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, ".mailstore.json"), JSON.stringify({ version: 1, hash: "md5", fanout: [2, 2] }));
  // Three hosts: one by option, one by MAILSTORE_SHARD, one as a Kubernetes Indexed Job.
  const results = await Promise.all([
    run(["migrate", "--root", root, "--json", "--sync", "none", "--shard", "0/3", path.join(spool, "*")]),
    run(["migrate", "--root", root, "--json", "--sync", "none", path.join(spool, "*")], { MAILSTORE_SHARD: "1/3" }),
    run(["migrate", "--root", root, "--json", "--sync", "none", path.join(spool, "*")], { JOB_COMPLETION_INDEX: "2", MAILSTORE_SHARD_COUNT: "3" }),
  ]);
  const byShard = results.map((r) => {
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout).mailboxes as { user: string; status: string }[]).map((m) => m.user);
  });
  byShard.forEach((list, k) => assert.ok(list.every((u) => shardOfUser(u, 3) === k), `shard ${k} took only its own users`));
  assert.deepEqual(byShard.flat().sort(), [...users].sort());
  for (const [i, u] of users.entries()) assert.equal(fs.readdirSync(path.join(userHome(root, u), "new")).length + fs.readdirSync(path.join(userHome(root, u), "cur")).length, 1 + (i % 3));

  const indexed = await Promise.all([0, 1, 2].map((k) => run(["index", "--root", root, "--json", "--no-progress", "--shard", `${k}/3`])));
  const indexedUsers = indexed.map((r) => (JSON.parse(r.stdout).users as { user: string }[]).map((u) => u.user));
  assert.deepEqual(indexedUsers.flat().sort(), [...users].sort());
  assert.equal(mailstore(["migrate", "--root", root, "--shard", "3/3", path.join(spool, "*")]).status, 2);
});

test("report shards merge into exactly the report of one run", async () => {
  const dir = tempDir();
  const t = plantTree(dir);
  // More users, so that each of the shards has several.
  const msgs = realMessages("lf", 20).map((m) => m.bytes);
  for (let i = 0; i < 20; i++) deliver(userHome(t.root, `extra${i}`), msgs[i]);
  // A hard link across shards (grace and bob fall in different shards for 2 and 3): counted once after merging too.
  const sent = path.join(userHome(t.root, "heidi"), ".Sent", "cur");
  const linked = fs.readdirSync(sent).find((n) => n.includes(".linked")) as string;
  fs.linkSync(path.join(sent, linked), path.join(userHome(t.root, "bob"), "cur", linked));
  const args = ["report", "--root", t.root, "--json", "--no-cache", "--large-dir", "40,400", "--new-backlog", "5,20", "--mbox", path.join(dir, "root", "..", "outside")];
  const whole = mailstore(args);
  assert.equal(whole.status, 3, whole.stderr);
  for (const n of [2, 3]) {
    const shards = await Promise.all(Array.from({ length: n }, (_, k) => run([...args, "--shard", `${k}/${n}`])));
    const files = shards.map((r, k) => {
      assert.ok(r.status === 0 || r.status === 3, r.stderr);
      const file = path.join(dir, `shard-${k}-of-${n}.json`);
      fs.writeFileSync(file, r.stdout);
      return file;
    });
    const shardUsers = shards.map((r) => (JSON.parse(r.stdout).users as { path: string }[]).map((u) => u.path));
    const all = shardUsers.flat();
    assert.equal(new Set(all).size, all.length, "no user in two shards");
    const merged = mailstore(["report", "--json", "--merge", ...files, "--large-dir", "40,400", "--new-backlog", "5,20"]);
    assert.equal(merged.status, 3, merged.stderr);
    const strip = (text: string) => {
      const j = JSON.parse(text);
      delete j.generatedAt;
      delete j.scanSeconds;
      delete j.filesystem;
      delete j.totals.directoriesRescanned;
      j.hotspots = j.hotspots.filter((h: { kind: string }) => h.kind !== "disk-pressure" && h.kind !== "inode-pressure");
      return j;
    };
    assert.deepEqual(strip(merged.stdout), strip(whole.stdout), `${n} shards merged`);
    assert.ok(shards.every((r) => JSON.parse(r.stdout).totals.hardLinkedBytes < JSON.parse(whole.stdout).totals.hardLinkedBytes), "each shard alone sees fewer links than the whole tree");
  }
  // History is recorded from the merged report, never from one shard.
  const shardHistory = mailstore([...args, "--shard", "0/2", "--history", path.join(dir, "h.sqlite")]);
  assert.equal(shardHistory.status, 2);
  assert.match(shardHistory.stderr, /--history records whole-tree snapshots/);
  // Overlapping or foreign reports are refused.
  const one = path.join(dir, "shard-0-of-2.json");
  const twice = mailstore(["report", "--merge", one, one]);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /shard 0\/2 given twice/);
  const mixed = mailstore(["report", "--merge", one, path.join(dir, "shard-1-of-3.json")]);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /different splits/);
});

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { CLI, mailstore } from "../helpers/cli.js";
import { realMessages, tempDir } from "../helpers/mbox.js";
import { deliver, listTree, withTmpfs } from "../helpers/tree.js";

const msgs = realMessages("lf");

/** A Maildir of real messages with a folder, a Dovecot uidlist and an index-like file. */
function makeMaildir(dir: string, seed: number, count = 4): Map<string, string> {
  for (let i = 0; i < count; i++) deliver(dir, msgs[(seed * 7 + i) % msgs.length].bytes, { sub: i % 2 ? "new" : "cur" });
  deliver(path.join(dir, ".Sent"), msgs[(seed + 3) % msgs.length].bytes);
  fs.writeFileSync(path.join(dir, ".Sent", "maildirfolder"), "");
  fs.writeFileSync(path.join(dir, "dovecot-uidlist"), `3 V${1000 + seed} N${count + 1}\n`);
  return listTree(dir);
}

/** Contents by path and SHA-free identity: the listing plus every file's bytes. */
function snapshot(dir: string): string {
  return [...listTree(dir)].map(([rel, what]) => `${rel} ${what} ${what.startsWith("f") ? fs.readFileSync(path.join(dir, rel)).toString("base64") : ""}`).join("\n");
}

test("flat homes move into the hashed tree: dry run first, --user-from, --link, conflicts and locks", () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const vmail = path.join(dir, "vmail");
  const before = new Map<string, string>();
  for (const [i, [domain, user]] of [["example.org", "alice"], ["example.org", "bob"], ["example.net", "alice"], ["example.net", "carol"]].entries()) {
    const md = path.join(vmail, domain, user);
    makeMaildir(md, i);
    before.set(`${user}@${domain}`, snapshot(md));
  }
  const args = ["relayout", "--root", root, "--from", path.join(vmail, "*", "*"), "--user-from", "/vmail/(?<domain>[^/]+)/(?<user>[^/]+)$", "--link"];
  const dry = mailstore([...args, "--dry-run", "--json"]);
  assert.equal(dry.status, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout);
  assert.deepEqual(plan.moves.map((m: { user: string; status: string; method: string }) => [m.user, m.status, m.method]).sort(), [...before.keys()].map((u) => [u, "planned", "rename"]).sort());
  assert.ok(!fs.existsSync(root), "a dry run writes nothing");

  // carol's Maildir is in use (Dovecot holds its uidlist dotlock); alice@example.net's target already exists.
  fs.writeFileSync(path.join(vmail, "example.net", "carol", "dovecot-uidlist.lock"), "");
  const taken = userMaildir(root, "alice@example.net");
  fs.mkdirSync(path.join(taken, "cur"), { recursive: true });
  const r = mailstore([...args, "--json"]);
  assert.equal(r.status, 1);
  const res = JSON.parse(r.stdout);
  const status = Object.fromEntries(res.moves.map((m: { user: string; status: string }) => [m.user, m.status]));
  assert.deepEqual(status, { "alice@example.org": "moved", "bob@example.org": "moved", "alice@example.net": "conflict", "carol@example.net": "busy" });
  assert.match(r.stderr, /busy carol@example.net: .*dovecot-uidlist.lock is present/);
  assert.match(r.stderr, /conflict alice@example.net: .* already exists: not merged/);
  for (const user of ["alice@example.org", "bob@example.org"]) {
    const [local, domain] = user.split("@");
    assert.equal(snapshot(userMaildir(root, user)), before.get(user), `${user} moved whole`);
    assert.equal(fs.readlinkSync(path.join(vmail, domain, local)), userMaildir(root, user));
  }
  assert.equal(snapshot(path.join(vmail, "example.net", "alice")), before.get("alice@example.net"), "a conflict leaves both alone");
  assert.deepEqual(fs.readdirSync(taken), ["cur"]);

  // Resolved: the lock is gone, the stray target removed. The next run finishes; the pattern
  // no longer matches the moved ones (symlinks now, never followed).
  fs.rmSync(path.join(vmail, "example.net", "carol", "dovecot-uidlist.lock"));
  fs.rmSync(taken, { recursive: true });
  const again = mailstore([...args, "--json"]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).totals, { maildirs: 2, moved: 2, copied: 0, inPlace: 0, planned: 0, conflicts: 0, busy: 0, failed: 0 });
  for (const user of before.keys()) assert.equal(snapshot(userMaildir(root, user)), before.get(user));
  // Named again through their old places: already there.
  const named = mailstore(["relayout", "--root", root, "--json", "--user-from", args[6], path.join(vmail, "example.org", "alice")]);
  assert.equal(JSON.parse(named.stdout).moves[0].status, "in-place");

  // A symlink is never followed; a name that is not a Maildir is refused.
  const link = path.join(dir, "link-to-md");
  fs.mkdirSync(path.join(dir, "real", "dave", "cur"), { recursive: true });
  fs.symlinkSync(path.join(dir, "real", "dave"), link);
  const sym = mailstore(["relayout", "--root", root, link]);
  assert.equal(sym.status, 1);
  assert.match(sym.stderr, /is a symlink; relayout never follows one/);
  assert.ok(fs.existsSync(path.join(dir, "real", "dave", "cur")));
});

test("re-hashing a tree in place survives kill -9 at any moment; other commands wait for it", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const users = Array.from({ length: 300 }, (_, i) => `user${i}`);
  const spool = path.join(dir, "import");
  for (const [i, u] of users.entries()) makeMaildir(path.join(spool, u), i, 2);
  assert.equal(mailstore(["relayout", "--root", root, "--no-progress", ...users.map((u) => path.join(spool, u))]).status, 0);
  const want = new Map(users.map((u) => [u, snapshot(userMaildir(root, u))]));

  // Where is each user? Exactly one of the two layouts, whole.
  const check = () => {
    for (const u of users) {
      const old = userMaildir(root, u, [2, 2]);
      const neu = userMaildir(root, u, [1, 3]);
      const places = [old, neu].filter((p) => fs.existsSync(p));
      assert.equal(places.length, 1, `${u} in ${places.length} places`);
      assert.equal(snapshot(places[0]), want.get(u), `${u} whole`);
    }
  };
  let kills = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = spawn(process.execPath, [CLI, "relayout", "--root", root, "--fanout", "1,3", "--no-progress"], { stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    const moved = () => users.filter((u) => fs.existsSync(userMaildir(root, u, [1, 3]))).length;
    const goal = (attempt + 1) * 60;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null && moved() < goal) await new Promise((r) => setTimeout(r, 2));
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      kills++;
    }
    await exited;
    check();
    if (fs.existsSync(path.join(root, ".mailstore-relayout.json"))) {
      const index = mailstore(["index", "--root", root]);
      assert.equal(index.status, 2);
      assert.match(index.stderr, /being re-hashed from fanout 2,2 to 1,3/);
    }
  }
  assert.ok(kills >= 1, "the relayout was never interrupted");
  const finish = mailstore(["relayout", "--root", root, "--no-progress", "--json"]);
  assert.equal(finish.status, 0, finish.stderr);
  assert.equal(JSON.parse(finish.stdout).layoutCommitted, true);
  check();
  assert.ok(users.every((u) => fs.existsSync(userMaildir(root, u, [1, 3]))));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, ".mailstore.json"), "utf8")).fanout, [1, 3]);
  // Old buckets are gone; the new layout is what path and report see.
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.length === 2), []);
  assert.equal(mailstore(["path", "--root", root, "user7"]).stdout.trim(), userMaildir(root, "user7", [1, 3]));
  const report = JSON.parse(mailstore(["report", "--root", root, "--json", "--no-cache"]).stdout);
  assert.equal(report.totals.users, users.length);
  assert.ok(report.users.every((u: { hashed: boolean }) => u.hashed));
});

test("relayout shards cover every home exactly once", () => {
  const dir = tempDir();
  const spool = path.join(dir, "homes");
  const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
  for (const [i, u] of users.entries()) makeMaildir(path.join(spool, u), i, 1);
  const root = path.join(dir, "root");
  const moved = [0, 1, 2].flatMap((k) => {
    const r = mailstore(["relayout", "--root", root, "--json", "--shard", `${k}/3`, "--from", path.join(spool, "*")]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).moves.map((m: { user: string; status: string }) => `${m.user}:${m.status}`);
  });
  assert.deepEqual(moved.sort(), users.map((u) => `${u}:moved`).sort());
  assert.deepEqual(fs.readdirSync(spool), []);
});

test("across filesystems: copy, verify, then remove; a run killed after the copy is finished by the next", (t) => {
  const dir = tempDir();
  const src = path.join(dir, "other-fs");
  withTmpfs(t, src, "size=8m", () => {
    const root = path.join(dir, "root");
    const homes = ["amy", "ben", "cat"].map((u, i) => {
      const md = path.join(src, u, "Maildir");
      makeMaildir(md, i);
      // A hard link inside the Maildir (Dovecot's copy between folders) stays a link.
      const cur = path.join(md, "cur");
      fs.linkSync(path.join(cur, fs.readdirSync(cur)[0]), path.join(md, ".Sent", "cur", "linked:2,S"));
      return { user: u, md, snap: snapshot(md) };
    });
    const r = mailstore(["relayout", "--root", root, "--json", homes[0].md]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).moves[0].method, "copy");
    const amy = userMaildir(root, "amy");
    assert.equal(snapshot(amy), homes[0].snap);
    assert.ok(!fs.existsSync(homes[0].md), "the source goes once the copy is verified");
    const sent = path.join(amy, ".Sent", "cur", "linked:2,S");
    assert.equal(fs.statSync(sent).nlink, 2);

    // ben: a run killed after publishing its copy, before removing the source.
    const ben = userMaildir(root, "ben");
    fs.mkdirSync(path.dirname(ben), { recursive: true });
    fs.cpSync(homes[1].md, ben, { recursive: true, preserveTimestamps: true });
    fs.writeFileSync(path.join(ben, ".mailstore-relayout-source"), JSON.stringify({ source: homes[1].md }));
    // cat: killed half-way through removing its source (renamed aside first, partly deleted).
    const cat = userMaildir(root, "cat");
    fs.mkdirSync(path.dirname(cat), { recursive: true });
    fs.cpSync(homes[2].md, cat, { recursive: true, preserveTimestamps: true });
    fs.writeFileSync(path.join(cat, ".mailstore-relayout-source"), JSON.stringify({ source: homes[2].md }));
    fs.renameSync(homes[2].md, `${homes[2].md}.mailstore-removing`);
    fs.rmSync(path.join(`${homes[2].md}.mailstore-removing`, "cur"), { recursive: true });

    const resume = mailstore(["relayout", "--root", root, "--json", homes[1].md, homes[2].md]);
    assert.equal(resume.status, 0, resume.stderr);
    assert.deepEqual(JSON.parse(resume.stdout).moves.map((m: { status: string }) => m.status), ["copied", "copied"]);
    for (const [i, target] of [[1, ben], [2, cat]] as const) {
      assert.equal(snapshot(target), homes[i].snap);
      assert.ok(!fs.existsSync(homes[i].md) && !fs.existsSync(`${homes[i].md}.mailstore-removing`));
    }
  });
});

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { busyReason, moveMaildir } from "../../src/relayout/move.js";
import { OpenFiles } from "../../src/relayout/open-files.js";
import { userOfPath } from "../../src/relayout/plan.js";
import { compareTrees, copyTree } from "../../src/relayout/tree-copy.js";
import { realMessages, tempDir } from "../helpers/mbox.js";
import { deliver } from "../helpers/tree.js";

test("copyTree keeps bytes, modes, mtimes, symlinks and inner hard links; compareTrees names every difference", () => {
  const dir = tempDir();
  const src = path.join(dir, "src");
  const [a, b] = realMessages("lf", 2).map((m) => m.bytes);
  const first = deliver(src, a, { mtime: Date.UTC(2020, 0, 1) });
  deliver(path.join(src, ".Archive"), b);
  fs.linkSync(first, path.join(src, ".Archive", "cur", "copy:2,S"));
  fs.symlinkSync("../elsewhere", path.join(src, "sieve-link"));
  fs.chmodSync(first, 0o600);
  const dst = path.join(dir, "dst");
  copyTree(src, dst);
  assert.deepEqual(compareTrees(src, dst), []);
  const copied = path.join(dst, "cur", path.basename(first));
  assert.equal(fs.statSync(copied).mode & 0o777, 0o600);
  assert.equal(fs.statSync(copied).mtimeMs, Date.UTC(2020, 0, 1));
  assert.equal(fs.statSync(copied).nlink, 2);
  assert.equal(fs.readlinkSync(path.join(dst, "sieve-link")), "../elsewhere");

  deliver(src, b, { sub: "new" });
  fs.writeFileSync(copied, Buffer.from(a).fill(0x41, 0, 10));
  const diffs = compareTrees(src, dst);
  assert.ok(diffs.some((d) => /^new\/.*: missing from the copy$/.test(d)), diffs.join("; "));
  assert.ok(diffs.some((d) => d === `cur/${path.basename(first)}: content differs`), diffs.join("; "));
});

test("compareTrees walks both trees side by side: one byte past the first megabyte, kinds, links, entries on either side", () => {
  const dir = tempDir();
  const src = path.join(dir, "src");
  const [a, b] = realMessages("lf", 2).map((m) => m.bytes);
  deliver(src, a);
  const big = deliver(path.join(src, ".Archive"), Buffer.concat([b, Buffer.alloc(1_500_000, 0x61)]));
  fs.symlinkSync("../elsewhere", path.join(src, "sieve-link"));
  const dst = path.join(dir, "dst");
  copyTree(src, dst);
  fs.writeFileSync(path.join(dst, "marker"), "");
  assert.deepEqual(compareTrees(src, dst, { ignoreInB: new Set(["marker"]) }), []);

  const copiedBig = path.join(dst, path.relative(src, big));
  const bytes = fs.readFileSync(copiedBig);
  bytes[1_200_000] = 0x62;
  fs.writeFileSync(copiedBig, bytes);
  fs.rmSync(path.join(dst, "sieve-link"));
  fs.symlinkSync("../other", path.join(dst, "sieve-link"));
  fs.mkdirSync(path.join(dst, ".Extra"));
  fs.rmSync(path.join(dst, "tmp"), { recursive: true });
  const diffs = compareTrees(src, dst);
  assert.deepEqual(
    diffs.sort(),
    [".Extra: only in the copy", `${path.relative(src, big)}: content differs`, "marker: only in the copy", "sieve-link: l ../elsewhere in the source, l ../other in the copy", "tmp: missing from the copy"].sort(),
  );
  assert.deepEqual(compareTrees(src, dst, { limit: 2 }).length, 2);
  assert.equal(compareTrees(src, dst, { contents: false }).some((d) => d.endsWith("content differs")), false, "names, kinds and sizes only");
});

test("a Maildir whose index lock another process holds is skipped as busy, untouched", async () => {
  const dir = tempDir();
  const src = path.join(dir, "home", "zoe");
  deliver(src, realMessages("lf", 1)[0].bytes);
  const lockFile = path.join(src, "mailstore-index.lock");
  fs.writeFileSync(lockFile, "");
  // Python's lockf takes the same POSIX (fcntl) lock that mailstore index takes.
  const holder = spawn("python3", ["-c", `import fcntl,sys,time\nf=open(${JSON.stringify(lockFile)},'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(30)`], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((r) => holder.stdout.once("data", r));
  try {
    const root = path.join(dir, "root");
    const opts = { root, fanout: [2, 2], link: false, dryRun: false };
    const busy = await moveMaildir({ source: src, user: "zoe" }, opts);
    assert.equal(busy.status, "busy");
    assert.match(busy.error ?? "", /mailstore-index.lock is held/);
    assert.ok(fs.existsSync(path.join(src, "cur")));
    holder.kill();
    await new Promise((r) => holder.on("exit", r));
    const moved = await moveMaildir({ source: src, user: "zoe" }, opts);
    assert.equal(moved.status, "moved");
    assert.ok(fs.existsSync(path.join(userMaildir(root, "zoe"), "cur")));
  } finally {
    holder.kill();
  }
});

test("a Maildir that another process holds open (a descriptor, or its working directory) is skipped as busy, naming the process; then moved", async () => {
  const dir = tempDir();
  const [held, worked] = ["held", "worked"].map((user) => {
    const home = path.join(dir, "home", user);
    const [a, b] = realMessages("lf", 2).map((m) => m.bytes);
    deliver(home, a);
    deliver(path.join(home, ".Lists"), b);
    fs.writeFileSync(path.join(home, ".Lists", "dovecot.index"), "index\n");
    return home;
  });
  // As an IMAP process keeps a selected folder's index open, and as a shell works in a Maildir.
  const children = [
    spawn("sh", ["-c", `exec 3<${JSON.stringify(path.join(held, ".Lists", "dovecot.index"))}; echo ready; exec sleep 30`], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] }),
    spawn("sh", ["-c", "echo ready; exec sleep 30"], { cwd: path.join(worked, ".Lists"), stdio: ["ignore", "pipe", "inherit"] }),
  ];
  await Promise.all(children.map((c) => new Promise((r) => c.stdout?.once("data", r))));
  try {
    const root = path.join(dir, "root");
    // A fresh scan for each move (the default reuses one up to a second old).
    const opts = { root, fanout: [2, 2], link: false, dryRun: false, openFiles: () => OpenFiles.scan() };
    const scan = OpenFiles.scan();
    assert.deepEqual(scan.holderUnder(held), { pid: children[0].pid, command: "sleep", path: path.join(fs.realpathSync(held), ".Lists", "dovecot.index") });
    assert.equal(scan.holderUnder(path.join(dir, "home", "nobody")), null);
    for (const [home, child, what] of [[held, children[0], "dovecot.index"], [worked, children[1], ".Lists"]] as const) {
      const busy = await moveMaildir({ source: home, user: path.basename(home) }, opts);
      assert.equal(busy.status, "busy");
      assert.match(busy.error ?? "", new RegExp(`${what.replace(".", "\\.")} is open in process ${child.pid} \\(sleep\\)`));
      assert.ok(fs.existsSync(path.join(home, "cur")), "left where it was");
    }
    for (const child of children) child.kill();
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.on("exit", r)))));
    for (const home of [held, worked]) {
      const moved = await moveMaildir({ source: home, user: path.basename(home) }, opts);
      assert.equal(moved.status, "moved", moved.error);
    }
  } finally {
    for (const child of children) child.kill();
  }
});

test("a process working in a sibling whose name extends the Maildir's (dir-2, dir.x) does not make it busy", async () => {
  const dir = tempDir();
  const homes = ["u", "u-2", "u.x"].map((name) => path.join(dir, name));
  for (const home of homes) fs.mkdirSync(path.join(home, "cur"), { recursive: true });
  const children: ReturnType<typeof spawn>[] = [];
  const workIn = async (cwd: string) => {
    const child = spawn("sh", ["-c", "echo ready; exec sleep 30"], { cwd, stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    await new Promise((r) => child.stdout?.once("data", r));
    return child;
  };
  try {
    const [second, third] = [await workIn(homes[1]), await workIn(homes[2])];
    let scan = OpenFiles.scan();
    assert.equal(scan.holderUnder(homes[0]), null, "u is not u-2 nor u.x");
    assert.equal(scan.holderUnder(homes[1])?.pid, second.pid);
    assert.equal(scan.holderUnder(homes[2])?.pid, third.pid);
    // Its own holder is found past the siblings that sort between "u" and "u/".
    const first = await workIn(path.join(homes[0], "cur"));
    scan = OpenFiles.scan();
    assert.equal(scan.holderUnder(homes[0])?.pid, first.pid);
  } finally {
    for (const child of children) child.kill();
  }
});

test("a descriptor this process holds does not make a Maildir busy", () => {
  const dir = tempDir();
  const fd = fs.openSync(path.join(dir, "open"), "w");
  try {
    assert.equal(OpenFiles.scan().holderUnder(dir), null);
  } finally {
    fs.closeSync(fd);
  }
});

test("busy by dotlock; user names from paths", () => {
  const home = path.join(tempDir(), "u");
  deliver(path.join(home, ".Lists"), realMessages("lf", 1)[0].bytes);
  assert.equal(busyReason(home), null);
  fs.writeFileSync(path.join(home, ".Lists", "dovecot-uidlist.lock"), "");
  assert.match(busyReason(home) ?? "", /\.Lists\/dovecot-uidlist\.lock is present/);
  assert.equal(userOfPath("/home/alice/Maildir"), "alice");
  assert.equal(userOfPath("/var/vmail/example.com/bob"), "bob");
  assert.equal(userOfPath("/var/vmail/example.com/bob", /vmail\/(?<domain>[^/]+)\/(?<user>[^/]+)/), "bob@example.com");
  assert.equal(userOfPath("/srv/users/carol/mail", /users\/([^/]+)\/mail$/), "carol");
  assert.equal(userOfPath("/srv/other", /users\/([^/]+)/), undefined);
});

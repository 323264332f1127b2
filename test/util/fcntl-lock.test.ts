import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fcntlLockBy } from "../../src/util/fcntl-lock.js";
import { nativeAddon } from "../../src/util/native.js";
import { mailstore } from "../helpers/cli.js";
import { REPO, tempDir, writeRealMbox } from "../helpers/mbox.js";

/** Another process holding a POSIX write lock on `file` (Python's lockf is fcntl F_SETLKW), until killed. */
async function holdLock(file: string) {
  const holder = spawn("python3", ["-c", `import fcntl,time\nf=open(${JSON.stringify(file)},'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)`], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((r) => holder.stdout.once("data", r));
  return {
    release: async () => {
      holder.kill();
      if (holder.exitCode === null && holder.signalCode === null) await new Promise((r) => holder.on("exit", r));
    },
  };
}

test("an fcntl lock another process holds is waited for until the deadline, then refused; taken once it goes: addon and os-lock alike", async () => {
  assert.ok(nativeAddon(), "the native addon is built by npm install");
  const file = path.join(tempDir(), "mbox");
  fs.writeFileSync(file, "From a Thu Sep 18 17:03:04 2008\nSubject: x\n\nbody\n");
  const holder = await holdLock(file);
  const fd = fs.openSync(file, "r");
  try {
    assert.equal(nativeAddon()?.fcntlLock(fd, false), false, "a shared lock conflicts with the holder's write lock");
    const started = Date.now();
    assert.equal(await fcntlLockBy(fd, false, Date.now() + 250), false);
    assert.ok(Date.now() - started >= 250, "waited until the deadline");
    // The fallback through os-lock, in a process without the addon, sees the same.
    const module = JSON.stringify(path.join(REPO, "src", "util", "fcntl-lock.ts"));
    const script = `import(${module}).then(async ({ fcntlLockBy }) => { const fd = (await import("node:fs")).openSync(${JSON.stringify(file)}, "r"); console.log(await fcntlLockBy(fd, false, Date.now() + 150)); })`;
    const fallback = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", env: { ...process.env, ...env }, cwd: REPO });
    const held = fallback({ MAILSTORE_NO_NATIVE: "1" });
    assert.equal(held.stdout.trim(), "false", held.stderr);
    await holder.release();
    assert.equal(await fcntlLockBy(fd, false, Date.now() + 250), true);
    assert.equal(fallback({ MAILSTORE_NO_NATIVE: "1" }).stdout.trim(), "true", "shared locks do not conflict");
  } finally {
    fs.closeSync(fd);
    await holder.release();
  }
});

test("a source whose fcntl lock stays held fails alone after --lock-timeout, naming the file; the next run migrates it", async () => {
  const dir = tempDir();
  const [busy, free] = ["held", "free"].map((user) => {
    const src = path.join(dir, user);
    writeRealMbox(src, 3);
    return src;
  });
  const root = path.join(dir, "root");
  const holder = await holdLock(busy);
  try {
    const r = mailstore(["migrate", "--root", root, "--json", "--no-progress", "--lock-timeout", "1", busy, free]);
    assert.equal(r.status, 1, r.stderr);
    const status = Object.fromEntries(JSON.parse(r.stdout).mailboxes.map((m: { user: string; status: string; error?: string }) => [m.user, [m.status, m.error ?? ""]]));
    assert.equal(status.free[0], "migrated");
    assert.equal(status.held[0], "failed");
    assert.match(status.held[1], new RegExp(`${busy} is locked by another process \\(fcntl lock held\\)`));
    assert.deepEqual(fs.readdirSync(dir).sort(), ["free", "held", "root"], "its dotlock removed");
  } finally {
    await holder.release();
  }
  const again = mailstore(["migrate", "--root", root, "--json", "--no-progress", busy, free]);
  assert.equal(again.status, 0, again.stderr);
});

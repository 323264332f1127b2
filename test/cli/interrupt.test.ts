import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { CLI, mailstore } from "../helpers/cli.js";
import { tempDir, writeRealMbox } from "../helpers/mbox.js";

/**
 * Runs the CLI with stdout on a pipe that this side closes once the first line has come, as
 * `mailstore ... | head -1` does (or sends it a signal then); resolves to the exit status,
 * the line and stderr.
 */
function runUntilFirstLine(args: string[], then: "close stdout" | NodeJS.Signals = "close stdout"): Promise<{ status: number | null; signal: NodeJS.Signals | null; first: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => {
    const first = !out.includes("\n");
    out += d;
    if (!first || !out.includes("\n")) return;
    if (then === "close stdout") child.stdout.destroy();
    else child.kill(then);
  });
  return new Promise((resolve) => child.on("exit", (status, signal) => resolve({ status, signal, first: out.split("\n")[0], stderr })));
}

/** A spool of 12 mailboxes of 300 real messages, and a root for them. */
function twelveMailboxes(): { spool: string; users: string[]; root: string } {
  const dir = tempDir();
  const spool = path.join(dir, "spool");
  fs.mkdirSync(spool);
  const users = Array.from({ length: 12 }, (_, i) => `user${String(i).padStart(2, "0")}`);
  for (const user of users) writeRealMbox(path.join(spool, user), 300);
  return { spool, users, root: path.join(dir, "root") };
}

test("`list | head -1`: when its reader goes away, list ends with status 141 (as SIGPIPE ends a program) and prints nothing more", async () => {
  const dir = tempDir();
  const src = path.join(dir, "quinn");
  // A listing of 3,000 lines fills the pipe's buffer long before it ends.
  writeRealMbox(src, 3000);
  const root = path.join(dir, "root");
  assert.equal(mailstore(["migrate", "--root", root, "--no-progress", src]).status, 0);
  const r = await runUntilFirstLine(["list", "--root", root, "quinn"]);
  assert.match(r.first, /^INBOX\t1\t/);
  assert.equal(r.status, 141, r.stderr);
  assert.equal(r.stderr, "", "no stack trace, no message");
});

test("migrate whose output closes mid-run stops as on SIGPIPE: status 141, every source lock (and its temporary file) removed, and the next run finishes", async () => {
  const { spool, users, root } = twelveMailboxes();
  // The first result is printed as the worker that sent it takes its next mailbox's lock:
  // the note of that lock was still on its way when the old handler removed what it knew.
  for (const jobs of ["1", "2", "1"]) {
    const r = await runUntilFirstLine(["migrate", "--root", root, "--no-progress", "--jobs", jobs, path.join(spool, "*")]);
    assert.match(r.first, /^(migrated|unchanged)\s+user/);
    assert.equal(r.status, 141, r.stderr);
    assert.match(r.stderr, /^mailstore: stdout closed \(EPIPE\); \d+ source locks? removed; run the same command again/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.deepEqual(fs.readdirSync(spool).sort(), users, "no dotlock nor hidden temporary lock file is left");
  }
  const again = mailstore(["migrate", "--root", root, "--no-progress", path.join(spool, "*")]);
  assert.equal(again.status, 0, again.stderr);
  const v = mailstore(["verify", "--root", root, path.join(spool, "*")]);
  assert.equal(v.status, 0, v.stdout);
  assert.match(v.stdout, /12 of 12 mailboxes match/);
});

test("SIGTERM or SIGINT while two workers migrate: 143 or 130 every time (stopping the workers once crashed the process), no lock left behind", async () => {
  const { spool, users, root } = twelveMailboxes();
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGTERM", 143], ["SIGINT", 130]] as const) {
    const r = await runUntilFirstLine(["migrate", "--root", root, "--no-progress", "--jobs", "2", path.join(spool, "*")], signal);
    assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, code, r.stderr);
    assert.match(r.stderr, new RegExp(`interrupted by ${signal}; \\d+ source locks? removed`));
    assert.deepEqual(fs.readdirSync(spool).sort(), users, "no dotlock nor hidden temporary lock file is left");
  }
  const again = mailstore(["migrate", "--root", root, "--no-progress", path.join(spool, "*")]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(mailstore(["verify", "--root", root, path.join(spool, "*")]).status, 0);
});

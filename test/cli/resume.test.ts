import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { CLI, mailstore } from "../helpers/cli.js";
import { indexAndRescan } from "../helpers/index-dump.js";
import { buildMbox, realMessages, tempDir } from "../helpers/mbox.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function delivered(maildir: string): string[] {
  return ["new", "cur"].flatMap((sub) => {
    const dir = path.join(maildir, sub);
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => path.join(dir, n)) : [];
  });
}

test("kill -9 at several moments, then the same command: every message exactly once", async () => {
  const dir = tempDir();
  const src = path.join(dir, "kate");
  // 4,000 real messages: several journal batches, long enough to be killed mid-way.
  const lf = realMessages("lf").map((m) => m.bytes);
  const msgs = Array.from({ length: 4000 }, (_, i) => lf[i % lf.length]);
  // As Dovecot left it: X-IMAPbase on the first message, an X-UID on each (with gaps where
  // messages were expunged), so the kills land in the work dovecot-uidlist is written from.
  const uidOf = (i: number) => 2 * i + 1;
  const extraHeaders = msgs.map((_, i) => `${i === 0 ? `X-IMAPbase: 1796647924 ${2 * msgs.length + 5}\n` : ""}X-UID: ${uidOf(i)}\n`);
  const built = buildMbox(msgs, "mboxrd", { extraHeaders });
  fs.writeFileSync(src, built.mbox);
  const root = path.join(dir, "root");
  const maildir = userMaildir(root, "kate");
  const args = ["migrate", "--root", root, "--no-progress", src];
  // The index is filled while delivering (as for a large mailbox), so kills land in the feed too.
  const feedAll = { MAILSTORE_INDEX_FEED_MIN_BYTES: "0" };

  let kills = 0;
  for (const threshold of [1, 1500, 2600]) {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: "ignore", env: { ...process.env, ...feedAll } });
    const exited = new Promise((r) => child.on("exit", r));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && delivered(maildir).length < threshold && child.exitCode === null) await sleep(5);
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      kills++;
    }
    await exited;
    // Whatever is visible is whole: each file is exactly one source message.
    const sizes = new Set(built.expected.map((m) => m.length));
    for (const file of delivered(maildir)) assert.ok(sizes.has(fs.statSync(file).size), `partial file ${file}`);
    // Staged files have no name (O_TMPFILE): a kill leaves nothing behind in tmp/.
    assert.deepEqual(fs.existsSync(path.join(maildir, "tmp")) ? fs.readdirSync(path.join(maildir, "tmp")) : [], []);
  }
  assert.ok(kills >= 1, "the run was never interrupted");
  const final = mailstore(args, { env: feedAll });
  assert.equal(final.status, 0, final.stderr);
  const files = delivered(maildir);
  assert.equal(files.length, msgs.length);
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 0, v.stdout);
  assert.equal(mailstore(args).stdout.includes("already migrated"), true);
  // The UIDs survive the kills: one line per file, each the UID its own X-UID gave.
  const [header, ...lines] = fs.readFileSync(path.join(maildir, "dovecot-uidlist"), "utf8").trimEnd().split("\n");
  assert.equal(header, `3 V1796647924 N${2 * msgs.length + 6}`);
  const byBase = new Map(files.map((file) => [path.basename(file).split(":")[0], file]));
  assert.equal(lines.length, msgs.length);
  lines.forEach((line, i) => {
    const [uid, name] = line.split(" :");
    assert.equal(Number(uid), uidOf(i), line);
    const file = byBase.get(name);
    assert.ok(file, `listed ${name}`);
    assert.match(fs.readFileSync(file).subarray(0, 64).toString("latin1"), new RegExp(`^(X-IMAPbase: .*\n)?X-UID: ${uid}\n`));
  });
  // The index, filled while delivering across the kills, is the one a scan builds.
  const { kept, rescanned } = indexAndRescan(root, "kate", path.join(dir, "kept.sqlite"), { byName: true });
  assert.deepEqual(kept, rescanned);
});

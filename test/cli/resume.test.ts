import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { JOURNAL_FILE } from "../../src/migrate/journal.js";
import { userMaildir } from "../../src/maildir/layout.js";
import { CLI, mailstore } from "../helpers/cli.js";
import { indexAndRescan } from "../helpers/index-dump.js";
import { buildMbox, realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function delivered(maildir: string): string[] {
  return ["new", "cur"].flatMap((sub) => {
    const dir = path.join(maildir, sub);
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => path.join(dir, n)) : [];
  });
}

// The index is filled while delivering, so kills land in the feed too: on the feed thread (as
// for a large mailbox alone), or on the delivering thread (a mid-size one, or any in a run of
// as many mailboxes at a time as cores).
const FEEDS = [
  ["on the feed thread", { MAILSTORE_INDEX_FEED_MIN_BYTES: "0", MAILSTORE_INDEX_FEED_THREAD: "1" }],
  ["on the delivering thread", { MAILSTORE_INDEX_FEED_MIN_BYTES: "0", MAILSTORE_INDEX_FEED_THREAD: "0" }],
] as const;

for (const [where, feedAll] of FEEDS) {
  test(`kill -9 at several moments, then the same command: every message exactly once (index fed ${where})`, () => killsThenResume(feedAll));
}

async function killsThenResume(feedAll: Record<string, string>): Promise<void> {
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
  // A dry run now plans what the next run will deliver: the rest, after the messages in place
  // (the killed batch's too, as settling will keep them), writing nothing.
  const inPlace = delivered(maildir).length;
  const dry = mailstore(["migrate", "--dry-run", "--json", ...args.slice(1)]);
  assert.equal(dry.status, 0, dry.stderr);
  const [planned] = JSON.parse(dry.stdout).mailboxes;
  assert.equal(planned.status, "planned");
  assert.equal(planned.previous, inPlace);
  assert.equal(planned.previous + planned.messages, msgs.length);
  assert.equal(delivered(maildir).length, inPlace);
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
}

/**
 * The state a power cut leaves when it strikes while a batch is being put in place, on a
 * filesystem that writes directory changes out of order (ext2, ext4 without a journal):
 * the journal's last batch pending, some of its links lost before later ones that stayed,
 * and the links after some point lost too. Made from a finished migration: the source marked
 * running as of `boot`, its batch pending again, the files of `lost` removed, and no index
 * (a small mailbox is indexed after its delivery: the cut run never made one).
 */
function cutMidPublish(maildir: string, boot: string, lost: (seq: number) => boolean): Map<number, { name: string; bytes: Buffer; mtimeMs: number }> {
  const db = new Database(path.join(maildir, JOURNAL_FILE));
  const removed = new Map<number, { name: string; bytes: Buffer; mtimeMs: number }>();
  try {
    db.prepare("UPDATE sources SET state = 'running', identity = NULL, boot = ?").run(boot);
    const last = db.prepare("SELECT first_seq, messages FROM batches ORDER BY first_seq DESC LIMIT 1").get() as { first_seq: number; messages: string };
    db.prepare("UPDATE batches SET state = 'pending' WHERE first_seq = ?").run(last.first_seq);
    (JSON.parse(last.messages) as Array<[number, number, number, string, string]>).forEach(([, , , name, subdir], i) => {
      const seq = last.first_seq + i;
      if (!lost(seq)) return;
      const file = path.join(maildir, subdir, name);
      removed.set(seq, { name: `${subdir}/${name}`, bytes: fs.readFileSync(file), mtimeMs: fs.statSync(file).mtimeMs });
      fs.unlinkSync(file);
    });
  } finally {
    db.close();
  }
  fs.rmSync(path.join(maildir, "mailstore.sqlite"));
  return removed;
}

test("after a restart, links an interrupted batch lost before later ones that stayed are put back as they were; with no restart, a missing file counts as removed", () => {
  const dir = tempDir();
  const src = path.join(dir, "lena");
  const lf = realMessages("lf").map((m) => m.bytes);
  writeRealMbox(src, 300);
  const root = path.join(dir, "root");
  const maildir = userMaildir(root, "lena");
  const args = ["migrate", "--root", root, "--no-progress", "--json", src];
  assert.equal(mailstore(args).status, 0);

  // Another boot: 40, 41, 150 and a message with a line starting "From " (quoted in the mbox,
  // unquoted again as it is read back) are holes below 199, the last in place; 200 on are the
  // cut tail.
  const hasFromLine = (m: Buffer) => /^From /m.test(m.toString("latin1"));
  const quoted = Array.from({ length: 199 - 42 }, (_, i) => 42 + i).find((seq) => seq !== 150 && hasFromLine(lf[seq % lf.length]));
  assert.ok(quoted !== undefined, "a message that mboxrd quotes");
  const holes = [40, 41, 150, quoted];
  const removed = cutMidPublish(maildir, "an-earlier-boot", (seq) => holes.includes(seq) || seq >= 200);
  const r = mailstore(args);
  assert.equal(r.status, 0, r.stderr);
  const [result] = JSON.parse(r.stdout).mailboxes;
  assert.equal(result.messages, 100, "the tail is delivered again; the holes are not counted as new");
  assert.match(result.warnings.join("\n"), /4 message\(s\) of a batch interrupted by a restart .* restored/);
  assert.match(removed.get(quoted)?.bytes.toString("latin1") ?? "", /^From /m);
  for (const seq of holes) {
    const was = removed.get(seq);
    assert.ok(was);
    const file = path.join(maildir, was.name);
    assert.deepEqual(fs.readFileSync(file), was.bytes, `message ${seq} restored byte for byte under its name`);
    assert.equal(fs.statSync(file).mtimeMs, was.mtimeMs, `message ${seq} keeps its received time`);
  }
  assert.equal(delivered(maildir).length, 300);
  assert.deepEqual(fs.readdirSync(path.join(maildir, "tmp")), []);
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 0, v.stdout);
  const { kept, rescanned } = indexAndRescan(root, "lena", path.join(dir, "kept.sqlite"), { byName: true });
  assert.deepEqual(kept, rescanned);

  // This boot: the run that was cut never lost its page cache, so a hole is a removal.
  const thisBoot = fs.readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim();
  // The last batch is now the tail delivered again (200-299).
  const gone = cutMidPublish(maildir, thisBoot, (seq) => seq === 240 || seq >= 270);
  const again = mailstore(args);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).mailboxes[0].messages, 30);
  assert.equal(fs.existsSync(path.join(maildir, gone.get(240)?.name ?? "")), false, "a removed message stays removed");
  assert.equal(delivered(maildir).length, 299);
  const missing = mailstore(["verify", "--root", root, src]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stdout, /missing/);
});

test("a hole is not restored from a source changed before it: the mailbox fails and nothing is written", () => {
  const dir = tempDir();
  const src = path.join(dir, "max");
  const { mbox } = writeRealMbox(src, 120);
  const root = path.join(dir, "root");
  const maildir = userMaildir(root, "max");
  const args = ["migrate", "--root", root, "--no-progress", "--json", src];
  assert.equal(mailstore(args).status, 0);
  cutMidPublish(maildir, "an-earlier-boot", (seq) => seq === 10);
  const changed = Buffer.from(mbox);
  changed[changed.length - 10] ^= 0x20;
  fs.writeFileSync(src, changed);
  const listing = delivered(maildir).sort();
  const r = mailstore(args);
  assert.equal(r.status, 1);
  assert.match(JSON.parse(r.stdout).mailboxes[0].error, /max: changed while 1 message\(s\) of an interrupted batch are missing/);
  assert.deepEqual(delivered(maildir).sort(), listing);
  assert.deepEqual(fs.readdirSync(path.join(maildir, "tmp")), []);
});

test("a dry run plans what the next run will do: nothing for a finished source, the new messages of one that grew; one changed under its migrated messages fails as the run would; nothing is written", () => {
  const dir = tempDir();
  const src = path.join(dir, "lara");
  writeRealMbox(src, 50);
  const root = path.join(dir, "root");
  const maildir = userMaildir(root, "lara");
  const run = (...extra: string[]) => mailstore(["migrate", "--root", root, "--no-progress", ...extra, src]);
  const plan = () => {
    const r = run("--dry-run", "--json");
    return { status: r.status, stderr: r.stderr, mailbox: JSON.parse(r.stdout).mailboxes[0] };
  };
  assert.equal(plan().mailbox.messages, 50);
  assert.ok(!fs.existsSync(maildir), "a dry run makes no Maildir");
  assert.equal(run().status, 0);
  const snapshot = () => [...delivered(maildir), path.join(maildir, JOURNAL_FILE)].map((f) => `${f} ${fs.statSync(f).size} ${fs.statSync(f).mtimeMs}`).sort();
  const before = snapshot();

  const finished = plan();
  assert.equal(finished.mailbox.status, "unchanged");
  assert.equal(finished.mailbox.previous, 50);
  assert.match(run("--dry-run").stdout, /^unchanged  lara: .*already migrated \(50 messages\)\nwould migrate 0 messages/);

  writeRealMbox(src, 7, { append: true });
  const grown = plan();
  assert.deepEqual([grown.mailbox.status, grown.mailbox.messages, grown.mailbox.previous], ["planned", 7, 50]);
  assert.match(run("--dry-run").stdout, /^plan       lara: .*: 7 messages, .* \(after 50 from earlier runs\)\n/);
  assert.deepEqual(snapshot(), before, "the dry runs wrote nothing");
  const real = JSON.parse(run("--json").stdout).mailboxes[0];
  assert.deepEqual([real.status, real.messages, real.bytes], ["resumed", 7, grown.mailbox.bytes]);

  const bytes = fs.readFileSync(src);
  const firstField = bytes.indexOf("\n") + 1; // after the first From_ line
  assert.match(String.fromCharCode(bytes[firstField]), /[A-Za-z]/);
  bytes[firstField] ^= 0x20; // the first header field's name changes case
  fs.writeFileSync(src, bytes);
  const changed = plan();
  assert.equal(changed.status, 1);
  assert.equal(changed.mailbox.status, "failed");
  assert.match(changed.mailbox.error, /changed since 57 message\(s\) were migrated from it/);
});

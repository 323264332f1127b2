import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { mailstore } from "../helpers/cli.js";
import { dumpIndex, indexAndRescan } from "../helpers/index-dump.js";
import { buildMbox, realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The feed thread for every source, however small (the default spares sources under 256 MB). */
const ON_FEED_THREAD = { MAILSTORE_INDEX_FEED_MIN_BYTES: "0", MAILSTORE_INDEX_FEED_THREAD: "1" };
/** The delivering thread's own feed for every source, however small or large (by default those of 2-256 MB). */
const ON_DELIVERING_THREAD = { MAILSTORE_LOCAL_FEED_MIN_BYTES: "0", MAILSTORE_INDEX_FEED_MIN_BYTES: String(2 ** 50) };

for (const [where, feedEnv] of [["the feed thread", ON_FEED_THREAD], ["the delivering thread", ON_DELIVERING_THREAD]] as const) {
  test(`the index migrate fills while delivering (on ${where}) is the one a scan of the Maildir builds, across batches, folders, CRLF and a grown source`, () =>
    fedIndexMatchesScan(feedEnv));
}

async function fedIndexMatchesScan(feedEnv: Record<string, string>): Promise<void> {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const lf = realMessages("lf").map((m) => m.bytes);
  // 4,600 real messages (journal batches of 1,000, so five hand-overs in the first run: more
  // than the feed's shared slots, which are then reused), some with mbox flags.
  const many = Array.from({ length: 4600 }, (_, i) => lf[i % lf.length]);
  const flags = many.map((_, i) => (i % 7 === 0 ? "Status: RO\nX-Status: AF\nX-Keywords: $Forwarded work\n" : i % 5 === 0 ? "Status: O\n" : ""));
  const full = buildMbox(many, "mboxrd", { extraHeaders: flags }).mbox;
  // The source first holds 4,100 messages; it grows to all of them before the second run.
  const cut = full.indexOf("\nFrom sender4100@") + 1;
  const rita = path.join(dir, "rita");
  fs.writeFileSync(rita, full.subarray(0, cut));
  const crlf = path.join(dir, "sam");
  fs.writeFileSync(crlf, buildMbox(lf.slice(0, 60), "mboxcl2", { crlf: true }).mbox);
  const archive = path.join(dir, "rita-archive");
  fs.writeFileSync(archive, buildMbox(lf.slice(60, 120), "mboxo").mbox);

  const run = (args: string[]) => {
    const r = mailstore(["migrate", "--root", root, "--json", ...args], { env: feedEnv });
    assert.equal(r.status, 0, r.stderr);
    for (const m of JSON.parse(r.stdout).mailboxes) {
      assert.equal(m.indexed, true, JSON.stringify(m));
      assert.equal(m.indexedBy, "delivery");
      assert.deepEqual(m.warnings, []);
    }
  };
  run([rita, crlf]);
  run(["--user", "rita", "--folder", "Archive", archive]);
  const maildir = mailstore(["path", "--root", root, "rita"]).stdout.trim();
  // A message another agent delivers between runs: the next run's index takes it in too.
  const first = fs.readdirSync(path.join(maildir, "cur"))[0];
  fs.copyFileSync(path.join(maildir, "cur", first), path.join(maildir, "new", `${Number.parseInt(first, 10)}.M999999P1.lda.example`));
  await sleep(1100);
  fs.appendFileSync(rita, full.subarray(cut));
  run([rita]);

  for (const user of ["rita", "sam"]) {
    const { kept, rescanned } = indexAndRescan(root, user, path.join(dir, `${user}.fed.sqlite`));
    assert.deepEqual(kept, rescanned, `${user}: the fed index differs from a scan`);
  }
  const rows = (dumpIndex(maildir) as { folders: Array<{ name: string; messages: number }> }).folders;
  assert.deepEqual(rows.map((f) => [f.name, f.messages]), [["Archive", 60], ["INBOX", 4601]]);
}

test("a small source is indexed by a scan after delivery, a larger one while delivering", () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const src = path.join(dir, "vera");
  writeRealMbox(src, 20);
  const by = (env: Record<string, string>) => {
    fs.rmSync(root, { recursive: true, force: true });
    const r = mailstore(["migrate", "--root", root, "--json", src], { env });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).mailboxes[0].indexedBy;
  };
  assert.equal(by({}), "scan");
  assert.equal(by({ MAILSTORE_INDEX_FEED_MIN_BYTES: String(fs.statSync(src).size) }), "delivery");
  assert.equal(by({ MAILSTORE_INDEX_FEED_MIN_BYTES: String(fs.statSync(src).size + 1) }), "scan");
  assert.equal(by({ MAILSTORE_LOCAL_FEED_MIN_BYTES: String(fs.statSync(src).size) }), "delivery");
  assert.equal(by({ MAILSTORE_LOCAL_FEED_MIN_BYTES: String(fs.statSync(src).size + 1) }), "scan");
});

for (const [where, feedEnv] of [["the feed thread", ON_FEED_THREAD], ["the delivering thread", ON_DELIVERING_THREAD]] as const) {
  test(`a feed (on ${where}) that fails leaves the delivery whole and says so; the same thread then feeds the next mailbox`, () => feedFailsAlone(feedEnv));
}

function feedFailsAlone(feedEnv: Record<string, string>): void {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const lf = realMessages("lf").map((m) => m.bytes);
  for (const [user, from] of [["wanda", 0], ["xena", 30]] as const) fs.writeFileSync(path.join(dir, user), buildMbox(lf.slice(from, from + 30), "mboxrd").mbox);
  // Something that is not a file where wanda's first index would be built: her feed fails.
  const wanda = mailstore(["path", "--root", root, "wanda"]).stdout.trim();
  fs.mkdirSync(path.join(wanda, "mailstore.sqlite.building"), { recursive: true });
  const r = mailstore(["migrate", "--root", root, "--jobs", "1", "--json", path.join(dir, "wanda"), path.join(dir, "xena")], { env: feedEnv });
  assert.equal(r.status, 0, r.stderr);
  const [w, x] = JSON.parse(r.stdout).mailboxes;
  assert.equal(w.status, "migrated");
  assert.equal(w.messages, 30);
  assert.equal(w.indexed, false);
  assert.match(w.warnings.join("\n"), /index feed failed \(.*mailstore\.sqlite\.building.*\); indexed after delivery instead/);
  assert.match(w.warnings.join("\n"), /index not updated: .*mailstore\.sqlite\.building/);
  assert.equal(mailstore(["verify", "--root", root, path.join(dir, "wanda")]).status, 0);
  assert.deepEqual([x.status, x.indexed, x.indexedBy, x.warnings], ["migrated", true, "delivery", []]);
  const { kept, rescanned } = indexAndRescan(root, "xena", path.join(dir, "xena.sqlite"));
  assert.deepEqual(kept, rescanned);
}

test("message files without a readable header are counted in migrate's warnings, whether the index is fed or scanned", () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const lf = realMessages("lf", 3).map((m) => m.bytes);
  // A message whose first line is its own ">From " (quoted once more in the mbox): no header field.
  const headless = Buffer.from(">From nobody@example.org Thu Sep 18 17:00:04 2008\n\nno header here\n");
  const mbox = buildMbox([lf[0], headless, lf[1], lf[2]], "mboxrd").mbox;
  for (const [user, env] of [["yuri", ON_FEED_THREAD], ["ursula", ON_DELIVERING_THREAD], ["zoe", {}]] as const) {
    fs.writeFileSync(path.join(dir, user), mbox);
    // Something else left an empty file in the user's Maildir before the migration.
    const maildir = mailstore(["path", "--root", root, user]).stdout.trim();
    for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
    fs.writeFileSync(path.join(maildir, "cur", "1700000000.M1P1.other:2,S"), "");
    const r = mailstore(["migrate", "--root", root, "--json", path.join(dir, user)], { env });
    assert.equal(r.status, 0, r.stderr);
    const [m] = JSON.parse(r.stdout).mailboxes;
    assert.equal(m.messages, 4);
    assert.equal(m.indexedBy, user === "zoe" ? "scan" : "delivery");
    assert.deepEqual(m.warnings, ["2 message file(s) in the Maildir unreadable or without a header; indexed with what could be read"], user);
  }
});

test("messages with huge headers are fed in smaller batches (4 MB of header blocks each), and the index is still the one a scan builds", async () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  // 700 real messages whose headers are grown by 16 KB each (X-Filler lines): 12 MB of header
  // blocks, which batches of a thousand messages would hold at once. (The last batches of a
  // source halve as its end nears: without the header limit the first would be ~350.)
  const filler = `X-Filler: ${"f".repeat(70)}\n`;
  const lf = realMessages("lf").map((m) => m.bytes);
  const fat = Array.from({ length: 700 }, (_, i) => Buffer.concat([Buffer.from(filler.repeat(200)), lf[i % lf.length]]));
  const src = path.join(dir, "hugo");
  fs.writeFileSync(src, buildMbox(fat, "mboxrd").mbox);
  const r = mailstore(["migrate", "--root", root, "--json", src], { env: ON_FEED_THREAD });
  assert.equal(r.status, 0, r.stderr);
  const [m] = JSON.parse(r.stdout).mailboxes;
  assert.deepEqual([m.messages, m.indexedBy, m.warnings], [700, "delivery", []]);
  const maildir = mailstore(["path", "--root", root, "hugo"]).stdout.trim();
  const { default: Database } = await import("better-sqlite3");
  const journal = new Database(path.join(maildir, "mailstore-journal.sqlite"), { readonly: true });
  const sizes = journal.prepare("SELECT count FROM batches ORDER BY first_seq").pluck().all() as number[];
  journal.close();
  assert.equal(sizes.reduce((a, b) => a + b, 0), 700);
  assert.ok(Math.max(...sizes) <= (4 * 1024 * 1024) / (200 * filler.length) + 1, `batches of ${sizes.join(", ")} messages`);
  const { kept, rescanned } = indexAndRescan(root, "hugo", path.join(dir, "hugo.sqlite"));
  assert.deepEqual(kept, rescanned);
});

// npm run bench: speed and memory of `mailstore migrate`, with the default (durable) settings,
// on mboxes built from the real messages in fixtures/eml, and mb2md on the same files when
// it is installed (Debian package mb2md). Prints messages/s, MB/s and peak RSS. Each place
// also runs once on the same messages written as mboxcl2 (Content-Length headers), which auto
// frames by Content-Length: a path of its own through the reader.
//
// Each configuration runs BENCH_REPEAT times, interleaved with mb2md, after a warm-up round
// that is not counted, and the medians are compared: a VM's disk can swing 2x between two
// runs of the same command. The same rounds run with the Maildirs on tmpfs (/dev/shm) where
// there is one, before those on disk, which takes the disk out and shows what the programs
// themselves cost.
//
// On disk, a run's Maildirs are kept until the place's last run: ext4 without a journal (as
// on the machines this was written on) will not reuse an inode freed in the last 30-60 s and
// checks every such inode while allocating one, so a run started right after 30,000 files were
// deleted paid 2-3x (measured: 13.8 s against 4.6 s for the same command, nearly all kernel
// time in recently_deleted()). An admin's migration does not follow a mass deletion; the bench
// must not either. When the disk lacks room for all of them, each run is deleted at once
// and the bench says its disk figures are pessimistic.
//
// Last, on disk, two files for memory: one holding a 300 MB message, and 3,000 messages whose
// headers are grown to ~60 KB each (the index feed holds header blocks for several batches).
//
// Then, per place, the other shape of a migration: many mailboxes in one mailstore run,
// against mb2md run once per mailbox, three rounds: BENCH_SMALL_MAILBOXES small ones (20
// messages, about 90 KB each), and the big mbox cut into BENCH_MID_MAILBOXES mailboxes of
// about 31 MB. There the cost per mailbox counts: its journal, locks, flushes and index.
//
//   BENCH_MESSAGES (default 30000)  BENCH_BIG_MB (default 300)  BENCH_DIR (default ./bench-work)
//   BENCH_REPEAT (default 5)  BENCH_SMALL_MAILBOXES (default 300)  BENCH_MID_MAILBOXES (default 16)
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { cli, median, repo, timed, work } from "./lib.mjs";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 30000);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 300);
fs.mkdirSync(work, { recursive: true });

const emlDir = path.join(repo, "fixtures", "eml", "lf");
const real = fs.readdirSync(emlDir).sort().map((n) => fs.readFileSync(path.join(emlDir, n)));
const quote = (b) => Buffer.from(b.toString("latin1").replace(/^(>*From )/gm, ">$1"), "latin1");
const fromLine = (i) => Buffer.from(`From MAILER-DAEMON Thu Sep 18 17:${String(i % 60).padStart(2, "0")}:04 2008\n`);
// Attachment-sized base64 lines, so that sizes look like a real mailbox (about 17 KB a message).
const attachment = (bytes, seed) => {
  const raw = crypto.createHash("sha256").update(String(seed)).digest();
  const line = `${Buffer.concat(Array(3).fill(raw)).toString("base64").slice(0, 76)}\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)));
};

function buildBig30k(file) {
  if (fs.existsSync(file)) return;
  const fd = fs.openSync(`${file}.part`, "w");
  for (let i = 0; i < MESSAGES; i++) {
    const msg = quote(real[i % real.length]);
    fs.writeSync(fd, fromLine(i));
    fs.writeSync(fd, msg);
    if (i % 5 === 0) fs.writeSync(fd, attachment(60_000, i));
    fs.writeSync(fd, "\n");
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
}

// The same messages as an mboxcl2 file (Content-Length headers, bodies not quoted), as
// Dovecot, Solaris mail and others write mbox: auto frames it by Content-Length.
function buildContentLength30k(file) {
  if (fs.existsSync(file)) return;
  const fd = fs.openSync(`${file}.part`, "w");
  for (let i = 0; i < MESSAGES; i++) {
    const msg = real[i % real.length];
    // The header ends at its first blank line, LF or CRLF (some of these messages are CRLF).
    const [lf, crlf] = [msg.indexOf("\n\n"), msg.indexOf("\n\r\n")];
    const blank = (crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf) + 1;
    const eol = msg[blank] === 0x0d ? "\r\n" : "\n";
    const body = Buffer.concat([msg.subarray(blank + eol.length), i % 5 === 0 ? attachment(60_000, i) : Buffer.alloc(0)]);
    fs.writeSync(fd, fromLine(i));
    fs.writeSync(fd, msg.subarray(0, blank));
    fs.writeSync(fd, `Content-Length: ${body.length}${eol}${eol}`);
    fs.writeSync(fd, body);
    fs.writeSync(fd, "\n");
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
}

function buildHuge(file) {
  if (fs.existsSync(file)) return;
  const fd = fs.openSync(`${file}.part`, "w");
  fs.writeSync(fd, fromLine(0));
  fs.writeSync(fd, quote(real[0]));
  const block = attachment(1 << 20, "big");
  for (let i = 0; i < BIG_MB; i++) fs.writeSync(fd, block);
  fs.writeSync(fd, "\n");
  for (let i = 1; i <= 1000; i++) {
    fs.writeSync(fd, fromLine(i));
    fs.writeSync(fd, quote(real[i % real.length]));
    fs.writeSync(fd, "\n");
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
}

// 3,000 of the real messages with their headers grown to ~60 KB (X-Filler lines; the index
// reads at most 64 KB of a header) and a short body: the index feed holds header blocks for
// several batches at once, and this shows what that costs in memory at its worst.
function buildFatHeaders(file) {
  if (fs.existsSync(file)) return;
  const fd = fs.openSync(`${file}.part`, "w");
  const filler = `X-Filler: ${"a".repeat(70)}\n`;
  for (let i = 0; i < 3000; i++) {
    const msg = quote(real[i % real.length]);
    const end = msg.indexOf("\n\n");
    let header = msg.subarray(0, end + 1).toString("latin1");
    header += filler.repeat(Math.max(0, Math.ceil((60_000 - header.length) / filler.length)));
    fs.writeSync(fd, fromLine(i));
    fs.writeSync(fd, Buffer.from(`${header}\nshort body\n\n`, "latin1"));
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
}

const dropCaches = () => spawnSync("sync");
const fmt = (n, d = 1) => n.toFixed(d);

/** Output directories made on a place whose removal waits for the place's end (see the top). */
let kept = null;
let runs = 0;
const outputDir = (outDir, name) => path.join(outDir, `${name}-${++runs}`);
const removeOutput = (dir) => (kept ? kept.push(dir) : fs.rmSync(dir, { recursive: true, force: true }));

async function migrateRun(label, mbox, extra = [], outDir = work) {
  const root = outputDir(outDir, `root-${label.replace(/\W+/g, "-")}`);
  fs.rmSync(root, { recursive: true, force: true });
  dropCaches();
  const r = await timed(process.execPath, [cli, "migrate", "--root", root, "--json", "--no-progress", ...extra, mbox]);
  const s = JSON.parse(r.out).totals;
  const mb = fs.statSync(mbox).size / 1048576;
  console.log(`mailstore ${label.padEnd(22)} ${String(s.messages).padStart(6)} msgs ${fmt(mb, 0).padStart(5)} MB  ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(s.messages / r.seconds, 0).padStart(6)} msg/s  ${fmt(mb / r.seconds).padStart(6)} MB/s  peak RSS ${fmt(r.peakMb, 0)} MB`);
  removeOutput(root);
  return r.seconds;
}

const haveMb2md = spawnSync("sh", ["-c", "command -v mb2md"], { encoding: "utf8" }).status === 0;

/** The message files mb2md wrote into a Maildir (new/ and cur/). */
const messagesIn = (maildir) => ["new", "cur"].reduce((n, sub) => n + (fs.existsSync(path.join(maildir, sub)) ? fs.readdirSync(path.join(maildir, sub)).length : 0), 0);

/** The sync after each timed mb2md run of the big mbox on the current place. */
let mb2mdFlushes = [];

async function mb2mdRun(mbox, outDir = work) {
  const dest = outputDir(outDir, "mb2md-out");
  fs.rmSync(dest, { recursive: true, force: true });
  dropCaches();
  const r = await timed("mb2md", ["-s", mbox, "-d", dest]);
  const count = messagesIn(dest);
  const mb = fs.statSync(mbox).size / 1048576;
  // What mb2md leaves in the page cache reaches the disk only at the next sync: timed apart,
  // so mb2md's own figure stays what the target is set against.
  const started = process.hrtime.bigint();
  dropCaches();
  const flushSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`mb2md     ${"(no fsync)".padEnd(22)} ${String(count).padStart(6)} msgs ${fmt(mb, 0).padStart(5)} MB  ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(count / r.seconds, 0).padStart(6)} msg/s  ${fmt(mb / r.seconds).padStart(6)} MB/s  peak RSS ${fmt(r.peakMb, 0)} MB  (then sync ${fmt(flushSeconds, 2)} s)`);
  mb2mdFlushes.push(flushSeconds);
  removeOutput(dest);
  return r.seconds;
}

const big = path.join(work, `bench-${MESSAGES}.mbox`);
const bigCl = path.join(work, `bench-${MESSAGES}-content-length.mbox`);
const huge = path.join(work, `bench-${BIG_MB}mb-message.mbox`);
const fat = path.join(work, "bench-3000-fat-headers.mbox");
const SMALL = Number(process.env.BENCH_SMALL_MAILBOXES ?? 300);
const spool = path.join(work, `spool-${SMALL}`);

/** SMALL mailboxes of 20 messages each, a different run of the fixtures in each. */
function buildSpool(dir) {
  if (fs.existsSync(dir)) return;
  fs.rmSync(`${dir}.part`, { recursive: true, force: true });
  fs.mkdirSync(`${dir}.part`, { recursive: true });
  for (let u = 0; u < SMALL; u++) {
    const parts = [];
    for (let i = 0; i < 20; i++) parts.push(fromLine(i), quote(real[(u * 20 + i) % real.length]), Buffer.from("\n"));
    fs.writeFileSync(path.join(`${dir}.part`, `user${u}`), Buffer.concat(parts));
  }
  fs.renameSync(`${dir}.part`, dir);
}

/**
 * The big mbox cut at message boundaries into MID mailboxes of about equal size: the same
 * bytes and messages as one mailbox, with each mailbox's own start, journal, index and end.
 */
const MID = Number(process.env.BENCH_MID_MAILBOXES ?? 16);
const midSpool = path.join(work, `spool-mid-${MID}`);

function buildMidSpool(dir, from) {
  if (fs.existsSync(dir)) return;
  fs.rmSync(`${dir}.part`, { recursive: true, force: true });
  fs.mkdirSync(`${dir}.part`, { recursive: true });
  const whole = fs.readFileSync(from);
  let start = 0;
  for (let u = 0; u < MID; u++) {
    const cut = u === MID - 1 ? whole.length : whole.indexOf("\n\nFrom ", start + Math.floor(whole.length / MID)) + 2;
    fs.writeFileSync(path.join(`${dir}.part`, `user${u}`), whole.subarray(start, cut));
    start = cut;
  }
  fs.renameSync(`${dir}.part`, dir);
}

const spoolBytes = (dir) => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);

/** One mailstore run over every mailbox of a spool (one mbox a user). */
async function spoolRun(dir, outDir) {
  const root = outputDir(outDir, `root-${path.basename(dir)}`);
  fs.rmSync(root, { recursive: true, force: true });
  dropCaches();
  const files = fs.readdirSync(dir).sort().map((n) => path.join(dir, n));
  const r = await timed(process.execPath, [cli, "migrate", "--root", root, "--json", "--no-progress", ...files]);
  const s = JSON.parse(r.out).totals;
  console.log(`mailstore ${`${s.mailboxes} mailboxes`.padEnd(22)} ${String(s.messages).padStart(6)} msgs ${fmt(spoolBytes(dir) / 1048576, 0).padStart(5)} MB  ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(s.mailboxes / r.seconds, 0).padStart(6)} mailboxes/s  peak RSS ${fmt(r.peakMb, 0)} MB`);
  removeOutput(root);
  return r.seconds;
}

/** mb2md over the same spool: one run a mailbox, as it takes one mbox a run. */
async function spoolMb2md(dir, outDir) {
  const dest = outputDir(outDir, `mb2md-${path.basename(dir)}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  dropCaches();
  // -s is read relative to $HOME unless absolute (the spool is).
  const r = await timed("sh", ["-c", 'for f in "$1"/*; do mb2md -s "$f" -d "$2/${f##*/}" >/dev/null || exit 1; done', "sh", dir, dest]);
  const users = fs.readdirSync(dest);
  const count = users.reduce((n, u) => n + messagesIn(path.join(dest, u)), 0);
  console.log(`mb2md     ${`${users.length} runs (no fsync)`.padEnd(22)} ${String(count).padStart(6)} msgs ${fmt(spoolBytes(dir) / 1048576, 0).padStart(5)} MB  ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(users.length / r.seconds, 0).padStart(6)} mailboxes/s`);
  removeOutput(dest);
  return r.seconds;
}

const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
console.log(`building inputs in ${work} from ${real.length} real messages ...`);
buildBig30k(big);
buildContentLength30k(bigCl);
buildHuge(huge);
buildFatHeaders(fat);
buildSpool(spool);
buildMidSpool(midSpool, big);
console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores, ${REPEAT} rounds per place`);
if (!haveMb2md) console.log("mb2md: not installed (apt-get install mb2md), no comparison");

const shm = "/dev/shm";
// tmpfs first: the disk place ends by deleting every run's Maildirs (ext4 then frees a few
// hundred thousand inodes), and nothing is timed after that. (The slow first run once blamed
// on that deletion came back with tmpfs first: it is the warm-up's business, below.)
const places = [];
try {
  fs.accessSync(shm, fs.constants.W_OK);
  places.push(["tmpfs", fs.mkdtempSync(path.join(shm, "mailstore-bench-"))]);
} catch {}
places.push(["disk", work]);
for (const [place, outDir] of places) {
  console.log(`\nMaildirs on ${place} (${outDir})`);
  kept = null;
  if (place === "disk") {
    // Every run's Maildirs (about the mbox's size each, the cut-up mbox's six runs included)
    // plus the 300 MB message's, with room to spare.
    const need = ((REPEAT + 1) * 3 + 2 + 6) * fs.statSync(big).size + 2 * (fs.statSync(huge).size + fs.statSync(fat).size) + (1 << 30);
    const { bavail, bsize } = fs.statfsSync(outDir);
    if (bavail * bsize >= need) kept = [];
    else console.log(`(${fmt(need / 2 ** 30)} GB not free: each run is deleted before the next, whose disk figures then include ext4's slower inode allocation after a mass deletion)`);
  }
  // One round first that is not counted: the first run of a place was the slowest for both
  // programs (mailstore 2.29 s against 1.46-1.75 s next, mb2md 5.11 s against 4.08-4.14 s).
  // It may read the source back into the page cache, and on a VM that hands freed memory back
  // to its host (free page reporting, as on the machines this was written on) it gets 500 MB
  // of memory back page by page. The rounds after it measure the programs.
  console.log("(a warm-up round, not counted)");
  await migrateRun("default (durable+index)", big, [], outDir);
  if (haveMb2md) await mb2mdRun(big, outDir);
  const times = { index: [], noIndex: [], mb2md: [] };
  mb2mdFlushes = [];
  for (let round = 0; round < REPEAT; round++) {
    // The default also builds the index; mb2md builds none, so the like-for-like row is --no-index.
    times.index.push(await migrateRun("default (durable+index)", big, [], outDir));
    times.noIndex.push(await migrateRun("durable, --no-index", big, ["--no-index"], outDir));
    if (haveMb2md) times.mb2md.push(await mb2mdRun(big, outDir));
  }
  await migrateRun("--sync none --no-index", big, ["--sync", "none", "--no-index"], outDir);
  await migrateRun("Content-Length mbox", bigCl, [], outDir);
  const small = { ours: [], mb2md: [] };
  const mid = { ours: [], mb2md: [] };
  for (let round = 0; round < 3; round++) {
    small.ours.push(await spoolRun(spool, outDir));
    if (haveMb2md) small.mb2md.push(await spoolMb2md(spool, outDir));
    mid.ours.push(await spoolRun(midSpool, outDir));
    if (haveMb2md) mid.mb2md.push(await spoolMb2md(midSpool, outDir));
  }
  if (place === "disk") {
    await migrateRun(`${BIG_MB} MB message`, huge);
    await migrateRun("60 KB headers", fat);
  } else fs.rmSync(outDir, { recursive: true, force: true });
  for (const dir of kept ?? []) fs.rmSync(dir, { recursive: true, force: true });
  kept = null;
  const [withIndex, ours, theirs] = [median(times.index), median(times.noIndex), haveMb2md ? median(times.mb2md) : null];
  console.log(`medians on ${place}: default ${fmt(withIndex, 2)} s, --no-index ${fmt(ours, 2)} s${theirs ? `, mb2md ${fmt(theirs, 2)} s` : ""}`);
  // The same command at 1.5x its own fastest time or more: the machine, not the program,
  // set these figures (on disk: a slow phase after deletions elsewhere on the filesystem).
  const swings = Object.entries({ default: times.index, "--no-index": times.noIndex, mb2md: times.mb2md })
    .filter(([, t]) => t.length > 1 && Math.max(...t) >= 1.5 * Math.min(...t))
    .map(([what, t]) => `${what} ${fmt(Math.min(...t), 2)}-${fmt(Math.max(...t), 2)} s`);
  if (swings.length > 0) console.log(`NOTE: runs of one command swung on ${place} (${swings.join(", ")}): these medians say more about the machine than the programs; rerun later`);
  if (theirs) {
    console.log(`mailstore durable --no-index took ${fmt(ours / theirs, 2)}x mb2md's time on the ${MESSAGES}-message mbox (target: at most 0.33x);`);
    console.log(`with the index built as well (the default) ${fmt(withIndex / theirs, 2)}x`);
    // Each round's runs are back to back, so a slow phase of the machine weighs on both sides
    // of a round's ratio; the medians above may take their figures from different phases.
    const perRound = (t) => {
      const r = t.map((seconds, i) => seconds / times.mb2md[i]);
      return `${fmt(Math.min(...r), 2)}-${fmt(Math.max(...r), 2)}x (median ${fmt(median(r), 2)}x)`;
    };
    console.log(`round by round against that round's mb2md: default ${perRound(times.index)}, --no-index ${perRound(times.noIndex)}`);
    // A durable run's time includes getting its mail onto the disk; mb2md's does not.
    const flush = median(mb2mdFlushes);
    if (place === "disk") console.log(`mb2md's output then took ${fmt(flush, 2)} s more to reach the disk (sync, median): against mb2md + sync the default took ${fmt(withIndex / (theirs + flush), 2)}x`);
  }
  for (const [what, t] of [[`${SMALL} small mailboxes`, small], [`the ${MESSAGES}-message mbox as ${MID} mailboxes`, mid]]) {
    const [ours, theirs] = [median(t.ours), haveMb2md ? median(t.mb2md) : null];
    console.log(`${what}, medians of 3: mailstore (default) ${fmt(ours, 2)} s${theirs ? `, mb2md ${fmt(theirs, 2)} s: ${fmt(ours / theirs, 2)}x` : ""}`);
  }
}

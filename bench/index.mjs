// npm run bench (second part): `mailstore index` on 20,000 real messages over 200 users:
// a full index, a rerun with nothing changed, and a rerun after 100 new deliveries.
// Targets (2 cores): >= 10,000 msg/s for the full index, no-change rerun < 0.2 s, peak RSS < 200 MB.
// Then one Maildir of 20,000 messages indexed by mailstore and, where Dovecot is installed
// and the bench runs as root, by `doveadm index` (the peer the targets were set against:
// 0.7 s for such a Maildir where they were written, so 10,000 msg/s is 2.9x its time).
import fs from "node:fs";
import path from "node:path";
import { INDEX_FILE } from "../dist/index/files.js";
import { dbFiles } from "../dist/maildir/dirs.js";
import { dovecotUsable, startDovecot } from "./dovecot-peer.mjs";
import { benchEnvNote, cli, median, repo, timed, work } from "./lib.mjs";

const USERS = Number(process.env.BENCH_USERS ?? 200);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 100);
const root = path.join(work, "index-tree");
const spool = path.join(work, "index-spool");

const emlDir = path.join(repo, "fixtures", "eml", "lf");
const real = fs.readdirSync(emlDir).sort().map((n) => fs.readFileSync(path.join(emlDir, n)));
const quote = (b) => Buffer.from(b.toString("latin1").replace(/^(>*From )/gm, ">$1"), "latin1");
const mbox = (count, first) => {
  const parts = [];
  for (let i = 0; i < count; i++) parts.push(Buffer.from(`From MAILER-DAEMON Thu Sep 18 17:${String(i % 60).padStart(2, "0")}:04 2008\n`), quote(real[(first + i) % real.length]), Buffer.from("\n"));
  return Buffer.concat(parts);
};

fs.rmSync(root, { recursive: true, force: true });
fs.rmSync(spool, { recursive: true, force: true });
fs.mkdirSync(spool, { recursive: true });
for (let u = 0; u < USERS; u++) fs.writeFileSync(path.join(spool, `user${String(u).padStart(3, "0")}`), mbox(PER_USER, u * 7));
await timed(process.execPath, [cli, "migrate", "--root", root, "--sync", "none", "--no-index", "--json", path.join(spool, "*")]);
// Let directory mtimes settle: the index trusts only those older than a second.
await new Promise((r) => setTimeout(r, 1500));

const total = USERS * PER_USER;
const report = (label, r, messages, tool = "index  ") =>
  console.log(`${tool} ${label.padEnd(26)} ${String(messages).padStart(6)} msgs  ${r.seconds.toFixed(2).padStart(6)} s  ${messages ? `${Math.round(messages / r.seconds)} msg/s`.padStart(12) : "".padStart(12)}  ${r.peakMb ? `peak RSS ${r.peakMb.toFixed(0)} MB` : "(too short to sample its RSS)"}`);

const bare = await timed(process.execPath, ["-e", "0"]);
console.log(`node -e 0 (a process start alone)       ${bare.seconds.toFixed(2).padStart(6)} s ${benchEnvNote}`);
const full = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
const added = JSON.parse(full.out).totals.added;
report(`full (${USERS} users)`, full, added);
await new Promise((r) => setTimeout(r, 1500));
const again = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
report("rerun, nothing changed", again, JSON.parse(again.out).totals.added);
// 100 new deliveries (fewer with fewer users), one each to as many users, straight into new/
// as an MDA would.
const DELIVERIES = Math.min(100, USERS);
for (let i = 0; i < DELIVERIES; i++) {
  const user = `user${String(i).padStart(3, "0")}`;
  const maildir = (await timed(process.execPath, [cli, "path", "--root", root, user])).out.trim();
  const message = real[i % real.length];
  fs.writeFileSync(path.join(maildir, "new", `${2000000000 + i}.M1P1.bench,S=${message.length}`), message);
}
const after = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
report(`rerun after ${DELIVERIES} deliveries`, after, JSON.parse(after.out).totals.added);
if (added !== total) console.log(`WARNING: indexed ${added} of ${total} messages`);

// One Maildir of 20,000 messages: mailstore index against doveadm index, first index and rerun.
const ONE = 20_000;
const oneRoot = path.join(work, "index-one");
const oneSpool = path.join(work, "index-one-spool");
fs.rmSync(oneRoot, { recursive: true, force: true });
fs.rmSync(oneSpool, { recursive: true, force: true });
fs.mkdirSync(oneSpool);
fs.writeFileSync(path.join(oneSpool, "bigbox"), mbox(ONE, 0));
await timed(process.execPath, [cli, "migrate", "--root", oneRoot, "--sync", "none", "--no-index", "--json", path.join(oneSpool, "bigbox")]);
const oneMaildir = (await timed(process.execPath, [cli, "path", "--root", oneRoot, "bigbox"])).out.trim();
await new Promise((r) => setTimeout(r, 1500));
const peer = dovecotUsable() ? await startDovecot(path.join(work, "dovecot-peer"), oneRoot) : null;
if (!peer) console.log("doveadm: not compared (needs dovecot-core installed and the bench run as root)");
try {
  peer?.adopt(oneMaildir);
  const ours = [];
  const theirs = [];
  for (let round = 0; round < 3; round++) {
    for (const file of dbFiles(path.join(oneMaildir, INDEX_FILE))) fs.rmSync(file, { force: true });
    const r = await timed(process.execPath, [cli, "index", "--root", oneRoot, "--json", "bigbox"]);
    ours.push(r.seconds);
    report("one Maildir, full", r, JSON.parse(r.out).totals.added);
    if (!peer) continue;
    fs.rmSync(peer.indexDir("bigbox"), { recursive: true, force: true });
    const d = await timed("doveadm", ["-c", peer.conf, "index", "-u", "bigbox", "INBOX"]);
    theirs.push(d.seconds);
    report("one Maildir, full", d, ONE, "doveadm");
  }
  await new Promise((r) => setTimeout(r, 1500));
  report("one Maildir, no change", await timed(process.execPath, [cli, "index", "--root", oneRoot, "--json", "bigbox"]), 0);
  if (peer) {
    const d = await timed("doveadm", ["-c", peer.conf, "index", "-u", "bigbox", "INBOX"]);
    report("one Maildir, no change", d, 0, "doveadm");
    const status = (await timed("doveadm", ["-c", peer.conf, "mailbox", "status", "-u", "bigbox", "messages", "INBOX"])).out.trim();
    if (!status.endsWith(`messages=${ONE}`)) console.log(`WARNING: doveadm sees ${status}, not ${ONE} messages`);
    console.log(`medians: mailstore ${median(ours).toFixed(2)} s, doveadm ${median(theirs).toFixed(2)} s: mailstore took ${(median(ours) / median(theirs)).toFixed(2)}x doveadm's time (10,000 msg/s is 2.9x where doveadm took 0.7 s)`);
  }
} finally {
  peer?.stop();
  fs.rmSync(oneSpool, { recursive: true, force: true });
}

// npm run bench (second part): `mailstore index` on 20,000 real messages over 200 users:
// a full index, a rerun with nothing changed, and a rerun after 100 new deliveries.
// Targets (2 cores): >= 10,000 msg/s for the full index, no-change rerun < 0.2 s, peak RSS < 200 MB.
import fs from "node:fs";
import path from "node:path";
import { benchEnvNote, cli, repo, timed, work } from "./lib.mjs";

const USERS = Number(process.env.BENCH_USERS ?? 200);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 100);
const root = path.join(work, "index-tree");
const spool = path.join(work, "index-spool");

const emlDir = path.join(repo, "fixtures", "eml", "lf");
const real = fs.readdirSync(emlDir).sort().map((n) => fs.readFileSync(path.join(emlDir, n)));
const quote = (b) => Buffer.from(b.toString("latin1").replace(/^(>*From )/gm, ">$1"), "latin1");

fs.rmSync(root, { recursive: true, force: true });
fs.rmSync(spool, { recursive: true, force: true });
fs.mkdirSync(spool, { recursive: true });
for (let u = 0; u < USERS; u++) {
  const parts = [];
  for (let i = 0; i < PER_USER; i++) parts.push(Buffer.from(`From MAILER-DAEMON Thu Sep 18 17:${String(i % 60).padStart(2, "0")}:04 2008\n`), quote(real[(u * 7 + i) % real.length]), Buffer.from("\n"));
  fs.writeFileSync(path.join(spool, `user${String(u).padStart(3, "0")}`), Buffer.concat(parts));
}
await timed(process.execPath, [cli, "migrate", "--root", root, "--sync", "none", "--no-index", "--json", path.join(spool, "*")]);
// Let directory mtimes settle: the index trusts only those older than a second.
await new Promise((r) => setTimeout(r, 1500));

const total = USERS * PER_USER;
const report = (label, r, messages) =>
  console.log(`index ${label.padEnd(26)} ${String(messages).padStart(6)} msgs  ${r.seconds.toFixed(2).padStart(6)} s  ${messages ? `${Math.round(messages / r.seconds)} msg/s`.padStart(12) : "".padStart(12)}  peak RSS ${r.peakMb.toFixed(0)} MB`);

const bare = await timed(process.execPath, ["-e", "0"]);
console.log(`node -e 0 (a process start alone)     ${bare.seconds.toFixed(2).padStart(6)} s ${benchEnvNote}`);
const full = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
const added = JSON.parse(full.out).totals.added;
report(`full (${USERS} users)`, full, added);
await new Promise((r) => setTimeout(r, 1500));
const again = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
report("rerun, nothing changed", again, JSON.parse(again.out).totals.added);
// 100 new deliveries, one each to 100 users, straight into new/ as an MDA would.
for (let i = 0; i < 100; i++) {
  const user = `user${String(i).padStart(3, "0")}`;
  const maildir = (await timed(process.execPath, [cli, "path", "--root", root, user])).out.trim();
  fs.writeFileSync(path.join(maildir, "new", `${2000000000 + i}.M1P1.bench,S=${real[i].length}`), real[i]);
}
const after = await timed(process.execPath, [cli, "index", "--root", root, "--json"]);
report("rerun after 100 deliveries", after, JSON.parse(after.out).totals.added);
if (added !== total) console.log(`WARNING: indexed ${added} of ${total} messages`);

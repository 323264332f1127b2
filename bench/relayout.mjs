// npm run bench (last part): `mailstore relayout` of 2,000 flat Maildirs (/home/<user>/Maildir
// style, same filesystem) into a hashed tree, then the speedup of splitting a job: the full
// report of the report bench's 1M-file tree as one shard, and as two shards at once (one
// scanner process each, as two hosts would run), merged.
import fs from "node:fs";
import path from "node:path";
import { makeReportTree } from "./make-report-tree.mjs";
import { cli, repo, timed, work } from "./lib.mjs";

const USERS = Number(process.env.BENCH_RELAYOUT_USERS ?? 2000);
const flat = path.join(work, "relayout-flat");
const root = path.join(work, "relayout-root");
fs.rmSync(flat, { recursive: true, force: true });
fs.rmSync(root, { recursive: true, force: true });
const msgs = fs.readdirSync(path.join(repo, "fixtures", "eml", "lf")).sort().slice(0, 10).map((n) => fs.readFileSync(path.join(repo, "fixtures", "eml", "lf", n)));
for (let u = 0; u < USERS; u++) {
  const md = path.join(flat, `user${u}`, "Maildir");
  for (const sub of ["cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"]) fs.mkdirSync(path.join(md, sub), { recursive: true });
  msgs.forEach((m, i) => fs.writeFileSync(path.join(md, "cur", `${1600000000 + i}.M${i}P1.bench,S=${m.length}:2,S`), m));
  fs.writeFileSync(path.join(md, "dovecot-uidlist"), "3 V1 N11\n");
}
const r = await timed(process.execPath, [cli, "relayout", "--root", root, "--json", "--no-progress", "--from", path.join(flat, "*", "Maildir")]);
const moved = JSON.parse(r.out).totals.moved;
console.log(`relayout ${moved} flat Maildirs (same filesystem)  ${r.seconds.toFixed(2).padStart(6)} s  ${Math.round(moved / r.seconds)} Maildirs/s  peak RSS ${r.peakMb.toFixed(0)} MB`);

const tree = path.join(work, "report-tree");
makeReportTree(tree, { users: Number(process.env.BENCH_REPORT_USERS ?? 2000), perUser: Number(process.env.BENCH_REPORT_PER_USER ?? 500), repo });
const report = (extra) => timed(process.execPath, [cli, "report", "--root", tree, "--json", "--no-cache", "--jobs", "1", ...extra], { okCodes: [0, 3] });
await report([]);
const best = (list) => list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const one = [];
const two = [];
for (let i = 0; i < 3; i++) {
  one.push(await report([]));
  const started = process.hrtime.bigint();
  const shards = await Promise.all([report(["--shard", "0/2"]), report(["--shard", "1/2"])]);
  const files = shards.map((s, k) => {
    const file = path.join(work, `shard-${k}.json`);
    fs.writeFileSync(file, s.out);
    return file;
  });
  const merged = await timed(process.execPath, [cli, "report", "--json", "--merge", ...files], { okCodes: [0, 3] });
  two.push({ seconds: Number(process.hrtime.bigint() - started) / 1e9, merge: merged.seconds, peakMb: Math.max(...shards.map((s) => s.peakMb)) });
}
const [b1, b2] = [best(one), best(two)];
console.log(`shards: full report, 1 shard (1 scanner)   ${b1.seconds.toFixed(2).padStart(6)} s  peak RSS ${b1.peakMb.toFixed(0)} MB`);
console.log(`shards: 2 shards at once + merge          ${b2.seconds.toFixed(2).padStart(6)} s  (merge ${b2.merge.toFixed(2)} s)  ${(b1.seconds / b2.seconds).toFixed(2)}x faster  peak RSS ${b2.peakMb.toFixed(0)} MB per shard`);

// npm run bench (third part): `mailstore report` on a hashed tree of about 1,000,000 files in
// 2,000 users (built once into bench-work/, reused), against `du -s` and `find | wc -l` on
// the same tree in the same run. Targets: full report <= 1.5x du -s, no-change rerun <=
// find | wc -l, peak RSS < 256 MB. Warm cache: every command runs once untimed first.
import fs from "node:fs";
import path from "node:path";
import { makeReportTree } from "./make-report-tree.mjs";
import { cli, repo, timed, work } from "./lib.mjs";

const USERS = Number(process.env.BENCH_REPORT_USERS ?? 2000);
const PER_USER = Number(process.env.BENCH_REPORT_PER_USER ?? 500);
const root = path.join(work, "report-tree");
const cache = path.join(work, "report-cache.sqlite");

const t0 = Date.now();
if (makeReportTree(root, { users: USERS, perUser: PER_USER, repo })) console.log(`report tree built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const dropCache = () => {
  for (const s of ["", "-wal", "-shm"]) fs.rmSync(cache + s, { force: true });
};
// Exit 3 (a critical hot spot: the bench tree has users over quota) is a report, not a failure.
const report = (extra) => timed(process.execPath, [cli, "report", "--root", root, "--json", "--cache", cache, ...extra], { okCodes: [0, 3] });

const du = () => timed("du", ["-s", root]);
const find = () => timed("sh", ["-c", `find '${root}' | wc -l`]);
await du();
await find();
const files = Number((await find()).out.trim());

const runs = { du: [], find: [], full: [], rerun: [] };
for (let i = 0; i < 3; i++) {
  runs.du.push(await du());
  runs.find.push(await find());
  dropCache();
  runs.full.push(await report([]));
  runs.rerun.push(await report([]));
}
const best = (list) => list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const line = (label, r, extra = "") => console.log(`report ${label.padEnd(28)} ${r.seconds.toFixed(2).padStart(6)} s  peak RSS ${r.peakMb.toFixed(0).padStart(4)} MB  ${extra}`);
const [bDu, bFind, bFull, bRerun] = [best(runs.du), best(runs.find), best(runs.full), best(runs.rerun)];
console.log(`report tree: ${USERS} users, ${files} entries (best of 3 runs each, warm cache)`);
line("du -s", bDu);
line("find | wc -l", bFind);
line("full (no cache)", bFull, `${(bFull.seconds / bDu.seconds).toFixed(2)}x du -s   (target <= 1.5x)   ${Math.round(files / bFull.seconds)} entries/s`);
line("rerun, nothing changed", bRerun, `${(bRerun.seconds / bFind.seconds).toFixed(2)}x find   (target <= 1.0x)`);
const all = [...runs.full, ...runs.rerun].map((r) => r.seconds.toFixed(2));
console.log(`report all runs (full, rerun): ${all.join(" ")}`);

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { Report } from "../../src/report/analyze.js";
import { History } from "../../src/report/history.js";
import { DEFAULT_THRESHOLDS } from "../../src/report/thresholds.js";
import { tempDir } from "../helpers/mbox.js";

const DAY = 86_400_000;
const GB = 1024 ** 3;

/** The parts of a report the history reads. */
function report(day: number, users: [string, number, number | null][], fsUsed: number, inodesUsed: number): Report {
  return {
    root: "/srv/mail",
    users: users.map(([user, bytes, quotaBytes]) => ({ user, bytes, inodes: 10, messages: Math.round(bytes / 1000), quotaBytes })),
    totals: { users: users.length, messages: 0, bytes: users.reduce((a, u) => a + u[1], 0), inodes: 0 },
    filesystem: { bytesUsed: fsUsed, bytesAvailable: 100 * GB - fsUsed, inodesUsed, inodesTotal: 1_000_000, bytesPct: 0, inodesPct: 0 },
    generatedAt: new Date(day * DAY).toISOString(),
  } as unknown as Report;
}

test("history: growth windows, quota and filesystem projections from linear trends", () => {
  const history = new History(path.join(tempDir(), "h.sqlite"));
  const t0 = Date.UTC(2026, 0, 1);
  // Ten nightly snapshots: ann grows 10 MB a day towards a 1 GB quota, bob stays, the disk grows 1 GB a day.
  for (let d = 0; d < 10; d++) {
    const r = report(0, [["ann", 500e6 + d * 10e6, GB], ["bob", 200e6, GB]], 30 * GB + d * GB, 100_000 + d * 10_000);
    history.record(r, t0 + d * DAY);
  }
  const now = t0 + 10 * DAY;
  const current = report(10, [["ann", 600e6, GB], ["bob", 200e6, GB]], 40 * GB, 200_000);
  const g = history.growth(current, now, DEFAULT_THRESHOLDS, 10);
  assert.equal(g.snapshots, 10);
  assert.deepEqual(g.windows.map((w) => [w.days, w.since]), [[1, new Date(t0 + 9 * DAY).toISOString()], [7, new Date(t0 + 3 * DAY).toISOString()]]);
  assert.deepEqual(g.windows[1].topGrowers.map((u) => [u.user, u.bytesDelta]), [["ann", 70e6]]);
  assert.equal(g.quotaProjections.length, 1);
  const p = g.quotaProjections[0];
  assert.equal(p.user, "ann");
  assert.equal(p.bytesPerDay, 10e6);
  assert.equal(p.days, Math.round(((GB - 600e6) / 10e6) * 10) / 10);
  // Disk: 40 GB of 100 GB, +1 GB a day: 50 % in 10 days, 80 % in 40. Inodes: 20 %, +10,000 a day: 25 % in 5 days.
  assert.deepEqual(g.filesystem.crossings.map((c) => [c.what, c.pct, c.days]), [["disk", 50, 10], ["disk", 80, 40], ["inodes", 25, 5], ["inodes", 50, 30]]);
  // Snapshots of another root are not mixed in.
  assert.equal(history.growth({ ...current, root: "/other" }, now, DEFAULT_THRESHOLDS, 10).snapshots, 0);
  history.close();
});

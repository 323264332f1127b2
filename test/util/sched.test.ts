import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { SCHED } from "../helpers/proc.js";
import { REPO } from "../helpers/mbox.js";

// In a child process, so the test runner's own threads are left alone: moves the process to
// batch work, then starts a worker thread and thread-pool work, and reports every thread's policy.
const probe = `
  const { runAsBatchJob } = await import(${JSON.stringify(path.join(REPO, "src", "util", "sched.ts"))});
  const { threadPolicies } = await import(${JSON.stringify(path.join(REPO, "test", "helpers", "proc.ts"))});
  const { Worker } = await import("node:worker_threads");
  const fs = await import("node:fs");
  const moved = runAsBatchJob();
  const worker = new Worker("setInterval(() => {}, 1000)", { eval: true });
  await new Promise((resolve) => worker.once("online", resolve));
  await Promise.all(Array.from({ length: 8 }, () => fs.promises.stat(${JSON.stringify(REPO)})));
  console.log(JSON.stringify({ moved, policies: [...threadPolicies("self").values()] }));
  await worker.terminate();
`;

function runProbe(prefix: string[] = []): { moved: number; policies: number[] } {
  const [cmd, ...args] = [...prefix, process.execPath, "--import", "tsx", "--input-type=module", "-e", probe];
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: REPO });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("runAsBatchJob puts every thread under SCHED_BATCH, and the threads started after it inherit it", { skip: process.platform !== "linux" }, () => {
  const { moved, policies } = runProbe();
  assert.ok(moved > 1, `moved ${moved} thread(s): the main thread and V8's helpers exist from the start`);
  // More threads than were moved: the worker, its helpers and the thread pool came later.
  assert.ok(policies.length > moved, `${policies.length} threads, ${moved} moved`);
  assert.deepEqual(new Set(policies), new Set([SCHED.BATCH]));
});

test("runAsBatchJob leaves a process the admin put under another policy as it is", { skip: process.platform !== "linux" || spawnSync("chrt", ["--version"]).status !== 0 }, () => {
  const { moved, policies } = runProbe(["chrt", "--idle", "0"]);
  assert.equal(moved, 0);
  assert.deepEqual(new Set(policies), new Set([SCHED.IDLE]));
});

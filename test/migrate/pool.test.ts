import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { prestartWorker, runPool } from "../../src/migrate/pool.js";
import { tempDir } from "../helpers/mbox.js";

// A stand-in worker with the real protocol: takes its init message, sleeps, reports its
// start and end times (and its workerData and init), and dies outright for a task that asks
// it to. Started with workerData "die", it dies at once.
const WORKER = `
import { parentPort, workerData } from "node:worker_threads";
if (workerData === "die") process.exit(4);
if (workerData === "throw") throw new Error("failed to load");
let shared;
parentPort.on("message", async ({ type, index, task, shared: init }) => {
  if (type === "init") return void (shared = init);
  if (task.lockFile) {
    // Takes a lock file as lock.ts does (and says so), then dies holding it.
    const fs = await import("node:fs");
    fs.writeFileSync(task.lockFile, "1:host");
    parentPort.postMessage({ type: "held-file", event: "held", file: { path: task.lockFile, ino: fs.statSync(task.lockFile).ino } });
    process.exit(3);
  }
  if (task.crash) process.exit(3);
  if (task.throws) throw new Error("boom");
  const start = Date.now();
  await new Promise((r) => setTimeout(r, task.ms));
  parentPort.postMessage({ type: "progress", index, bytes: 10, messages: 1 });
  parentPort.postMessage({ type: "result", index, result: { name: task.name, start, end: Date.now(), workerData, shared } });
});
`;

interface Task { name: string; user: string; ms: number; crash?: boolean; throws?: boolean; lockFile?: string }
interface Result { name: string; start: number; end: number; crashed?: string; workerData?: unknown; shared?: unknown }

const standIn = () => {
  const file = path.join(tempDir(), "worker.mjs");
  fs.writeFileSync(file, WORKER);
  return pathToFileURL(file);
};

/** Runs tasks on the stand-in worker, one user's tasks kept apart, a dead worker's tasks failed with its error. */
function runTasks(tasks: Task[], opts: { jobs: number; depth?: number }, progress?: (index: number, bytes: number) => void, worker = standIn()): Promise<Result[]> {
  return runPool<Task, Result>(
    worker,
    tasks,
    { ...opts, shared: "config", keyOf: (t) => t.user, crashed: (t, e) => ({ name: t.name, start: 0, end: 0, crashed: e.message }) },
    { progress, result: () => undefined },
  );
}

test("tasks of one user never overlap, others run in parallel, and a crash fails only its task", async () => {
  const tasks: Task[] = [
    { name: "a1", user: "alice", ms: 800 },
    { name: "a2", user: "alice", ms: 800 },
    { name: "b1", user: "bob", ms: 800 },
    { name: "x", user: "carol", ms: 0, crash: true },
    { name: "c1", user: "dave", ms: 50 },
  ];
  let progressed = 0;
  const results = await runTasks(tasks, { jobs: 3 }, (_i, bytes) => (progressed += bytes));
  assert.deepEqual(results.map((r) => r.name), ["a1", "a2", "b1", "x", "c1"]);
  const [a1, a2, b1] = results;
  assert.ok(a2.start >= a1.end, "alice's tasks ran one after the other");
  // Worker threads may take a few hundred ms to start on a loaded machine: 800 ms tasks leave room.
  assert.ok(b1.start < a1.end, "bob ran beside alice");
  assert.match(results[3].crashed ?? "", /exited with code 3/);
  assert.ok(!results[4].crashed, "the task after a crash still ran");
  assert.equal(progressed, 40);
});

test("a lock file a worker held when it died is removed by the pool", async () => {
  const dir = tempDir();
  const lockFile = path.join(dir, "mbox.lock");
  const [r] = await runTasks([{ name: "l", user: "lena", ms: 0, lockFile }], { jobs: 1 });
  assert.match(r.crashed ?? "", /exited with code 3/);
  assert.deepEqual(fs.readdirSync(dir), [], "the dead worker's lock file is gone");
});

test("with depth 2 a worker holds two tasks at once (never two of one user); a crash fails the tasks it held", async () => {
  const tasks: Task[] = [
    { name: "a1", user: "alice", ms: 600 },
    { name: "a2", user: "alice", ms: 600 },
    { name: "b1", user: "bob", ms: 600 },
    { name: "slow", user: "erin", ms: 5000 },
    { name: "x", user: "carol", ms: 0, crash: true },
    { name: "c1", user: "dave", ms: 50 },
  ];
  const results = await runTasks(tasks, { jobs: 1, depth: 2 });
  const [a1, a2, b1, slow, x, c1] = results;
  assert.ok(b1.start < a1.end, "one worker ran alice and bob at once");
  assert.ok(a2.start >= a1.end, "alice's tasks ran one after the other");
  assert.match(x.crashed ?? "", /exited with code 3/);
  assert.match(slow.crashed ?? "", /exited with code 3/, "the task held beside the crash went down with it");
  assert.ok(!c1.crashed, "a fresh worker ran the task after the crash");

  // A throw ends a worker with an "error" and then an "exit": the late "exit" must not fail
  // the tasks the next worker holds by then.
  const thrown = await runTasks(
    [
      { name: "t", user: "frank", ms: 0, throws: true },
      { name: "e1", user: "gina", ms: 300 },
      { name: "d1", user: "hal", ms: 300 },
      { name: "d2", user: "ivy", ms: 300 },
    ],
    { jobs: 1, depth: 2 },
  );
  assert.deepEqual(thrown.map((r) => [r.name, r.crashed ?? "ran"]), [["t", "boom"], ["e1", "boom"], ["d1", "ran"], ["d2", "ran"]]);
});

test("a worker started ahead of its pool serves it, configured like any other; one the pool does not need is ended", async () => {
  const worker = standIn();
  prestartWorker(worker, "early");
  const [first, second] = await runTasks([{ name: "a", user: "alice", ms: 0 }, { name: "b", user: "bob", ms: 0 }], { jobs: 2 }, undefined, worker);
  assert.deepEqual([first.workerData, first.shared], ["early", "config"]);
  assert.deepEqual([second.workerData, second.shared], [undefined, "config"], "the second lane's worker was started by the pool");

  // Two started ahead, one task: the spare is ended with the pool (else it would run on).
  prestartWorker(worker, "early");
  prestartWorker(worker, "spare");
  assert.deepEqual((await runTasks([{ name: "c", user: "carol", ms: 0 }], { jobs: 2 }, undefined, worker)).map((r) => r.workerData), ["early"]);
  assert.deepEqual((await runTasks([{ name: "d", user: "dave", ms: 0 }], { jobs: 1 }, undefined, worker)).map((r) => r.workerData), [undefined], "no spare is left for a later pool");

  // One that died waiting (or threw: no one else hears its error) is never handed a task.
  for (const death of ["die", "throw"]) {
    const dying = prestartWorker(worker, death);
    dying.ref(); // (started unreferenced: nothing else keeps this test waiting for it)
    await new Promise((exited) => dying.on("exit", exited));
  }
  const after = await runTasks([{ name: "e", user: "erin", ms: 0 }], { jobs: 1 }, undefined, worker);
  assert.deepEqual(after.map((r) => [r.workerData, r.crashed ?? "ran"]), [[undefined, "ran"]]);
});

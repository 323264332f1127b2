import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { runPool } from "../../src/migrate/pool.js";
import { tempDir } from "../helpers/mbox.js";

// A stand-in worker with the real protocol: sleeps, reports its start and end times, and
// dies outright for a task that asks it to.
const WORKER = `
import { parentPort } from "node:worker_threads";
parentPort.on("message", async ({ index, task }) => {
  if (task.crash) process.exit(3);
  if (task.throws) throw new Error("boom");
  const start = Date.now();
  await new Promise((r) => setTimeout(r, task.ms));
  parentPort.postMessage({ type: "progress", index, bytes: 10, messages: 1 });
  parentPort.postMessage({ type: "result", index, result: { name: task.name, start, end: Date.now() } });
});
`;

interface Task { name: string; user: string; ms: number; crash?: boolean; throws?: boolean }
interface Result { name: string; start: number; end: number; crashed?: string }

/** Runs tasks on the stand-in worker, one user's tasks kept apart, a dead worker's tasks failed with its error. */
function runTasks(tasks: Task[], opts: { jobs: number; depth?: number }, progress?: (index: number, bytes: number) => void): Promise<Result[]> {
  const file = path.join(tempDir(), "worker.mjs");
  fs.writeFileSync(file, WORKER);
  return runPool<Task, Result>(
    pathToFileURL(file),
    tasks,
    { ...opts, shared: null, keyOf: (t) => t.user, crashed: (t, e) => ({ name: t.name, start: 0, end: 0, crashed: e.message }) },
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

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { REPO, tempDir } from "../helpers/mbox.js";

// runAlone catches what nothing else does (process-wide handlers), which the test runner
// watches for too: each case runs in a child process of its own.
function alone(work: string, lockFile = ""): { result: unknown; progress: number[][]; lockLeft: boolean; listeners: number } {
  const script = `
    const { runAlone } = await import(${JSON.stringify(path.join(REPO, "src", "migrate", "run-tasks.ts"))});
    const { noteHeld } = await import(${JSON.stringify(path.join(REPO, "src", "util", "held-files.ts"))});
    const fs = await import("node:fs");
    const lockFile = ${JSON.stringify(lockFile)};
    const before = process.listenerCount("uncaughtException") + process.listenerCount("unhandledRejection");
    const progress = [];
    const result = await runAlone({ name: "t" }, async (report) => {
      if (lockFile) {
        fs.writeFileSync(lockFile, "1:host");
        noteHeld({ path: lockFile, ino: fs.statSync(lockFile).ino });
      }
      ${work}
    }, (task, error) => ({ crashed: task.name + ": " + error.message }), (bytes, messages) => progress.push([bytes, messages]));
    const listeners = process.listenerCount("uncaughtException") + process.listenerCount("unhandledRejection") - before;
    console.log(JSON.stringify({ result, progress, lockLeft: lockFile !== "" && fs.existsSync(lockFile), listeners }));
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: REPO, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("runAlone gives the work's result and passes its progress on", () => {
  const out = alone(`report(10, 1); report(20, 2); return { done: true };`);
  assert.deepEqual(out, { result: { done: true }, progress: [[10, 1], [20, 2]], lockLeft: false, listeners: 0 });
});

test("a throw nothing catches fails the task as a worker's death would, and removes the lock file it held", () => {
  const dir = tempDir();
  const cases = {
    "in a callback": `await new Promise(() => setTimeout(() => { throw new Error("boom in a callback"); }, 10));`,
    "in a promise nobody awaits": `Promise.reject(new Error("boom unawaited")); await new Promise((r) => setTimeout(r, 5000));`,
    "from the work itself": `throw new Error("boom in the work");`,
  };
  for (const [where, work] of Object.entries(cases)) {
    const lockFile = path.join(dir, "mbox.lock");
    const out = alone(work, lockFile);
    assert.match(JSON.stringify(out.result), /"crashed":"t: boom/, where);
    assert.equal(out.lockLeft, false, `${where}: the lock file is removed`);
    assert.equal(out.listeners, 0, `${where}: the handlers are gone afterwards`);
    assert.deepEqual(fs.readdirSync(dir), []);
  }
});

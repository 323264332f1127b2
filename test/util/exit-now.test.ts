import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { REPO } from "../helpers/mbox.js";

const MODULE = JSON.stringify(path.join(REPO, "src", "util", "exit-now.ts"));

function runScript(script: string) {
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: REPO, timeout: 30_000 });
}

test("exitNowIfDone ends the process with the code, after its 'exit' listeners, though a worker thread would keep it alive", () => {
  const r = runScript(`
    const { exitNowIfDone } = await import(${MODULE});
    const { Worker } = await import("node:worker_threads");
    const fs = await import("node:fs");
    // A thread that never ends on its own: the usual exit would wait for it forever.
    const worker = new Worker("setInterval(() => {}, 1000)", { eval: true });
    await new Promise((resolve) => worker.once("online", resolve));
    process.on("exit", (code) => fs.writeSync(1, "exit listener " + code + "\\n"));
    process.stdout.write("before\\n");
    exitNowIfDone(3);
    process.stdout.write("after\\n");
  `);
  assert.equal(r.error, undefined, "the process did not end");
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, "before\nexit listener 3\n");
});

test("exitNowIfDone returns while output is still queued, and the process exits the usual way with all of it", async () => {
  // 4 MB to a pipe nobody reads yet: most of it is still queued when exitNowIfDone is called.
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
    const { exitNowIfDone } = await import(${MODULE});
    process.stdout.write("x".repeat(4 * 1024 * 1024));
    exitNowIfDone(0);
    process.stderr.write("returned\\n");
  `], { cwd: REPO });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  let received = 0;
  child.stdout.on("data", (d: Buffer) => (received += d.length));
  const status = await new Promise((resolve) => child.on("close", resolve));
  assert.equal(status, 0, stderr);
  assert.equal(received, 4 * 1024 * 1024);
  assert.match(stderr, /returned/);
});

test("exitNowIfDone leaves the exit to Node when a profiler or coverage writes its files then", () => {
  const coverage = fs.mkdtempSync(path.join(os.tmpdir(), "mailstore-coverage-"));
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
    const { exitNowIfDone } = await import(${MODULE});
    exitNowIfDone(0);
    process.stdout.write("returned\\n");
  `], { encoding: "utf8", cwd: REPO, env: { ...process.env, NODE_V8_COVERAGE: coverage } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "returned\n");
  // Written as the process exited the usual way.
  assert.ok(fs.readdirSync(coverage).some((f) => f.endsWith(".json")));
  fs.rmSync(coverage, { recursive: true });
});

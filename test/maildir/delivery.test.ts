import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { nativeAddon } from "../../src/util/native.js";
import { deliveryScenario } from "../helpers/delivery-scenario.js";
import { REPO, tempDir } from "../helpers/mbox.js";

test("delivery writes whole groups exactly, sets mtimes, and never replaces a file: native jobs and the fs fallback alike", async () => {
  assert.ok(nativeAddon(), "the native addon is built by npm install");
  const expected = {
    fresh: "Subject: a\n\nbody a\n",
    old: "Subject: b\n\nbody b\n",
    mtimes: [Date.parse("2008-09-18T17:03:04Z"), 0, Date.parse("2008-09-18T17:03:04Z")],
    modes: [0o600, 0o600],
    bigSize: 3 * 1024 * 1024,
    rewrite: "EEXIST (names the file)",
    replace: "EEXIST (names the file)",
    taken: "already here\n",
    tmp: ["c"],
  };
  assert.deepEqual(JSON.parse(await deliveryScenario(tempDir())), expected);
  // The same in a process without the native addon: fs callbacks, link() + unlink().
  const helper = JSON.stringify(path.join(REPO, "test", "helpers", "delivery-scenario.ts"));
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `import(${helper}).then((m) => m.deliveryScenario(${JSON.stringify(tempDir())})).then(console.log)`], {
    encoding: "utf8",
    env: { ...process.env, MAILSTORE_NO_NATIVE: "1" },
    cwd: REPO,
  });
  assert.deepEqual(JSON.parse(r.stdout), expected, r.stderr);
});

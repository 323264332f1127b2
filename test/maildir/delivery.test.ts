import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FolderWriter } from "../../src/maildir/delivery.js";
import { nativeAddon } from "../../src/util/native.js";
import { deliveryScenario, openDescriptors } from "../helpers/delivery-scenario.js";
import { REPO, tempDir } from "../helpers/mbox.js";

test("delivery writes whole groups exactly, sets mtimes, never replaces a file and leaks no descriptor: unnamed, named and fs fallback alike", async () => {
  assert.ok(nativeAddon(), "the native addon is built by npm install");
  const when = Date.parse("2008-09-18T17:03:04Z");
  const common = {
    probeLeft: [],
    fresh: "Subject: a\n\nbody a\n",
    old: "Subject: b\n\nbody b\n",
    mtimes: [when, 0, when],
    modes: [0o600, 0o600, 0o600],
    bigSize: 3 * 1024 * 1024,
    replace: "EEXIST (names the file)",
    taken: "already here\n",
    leakedDescriptors: 0,
  };
  // Unnamed files (O_TMPFILE, the default where the filesystem has it): nothing is ever named
  // in tmp/, so a staged name cannot collide, and a failed publish leaves nothing behind.
  const unnamed = { ...common, held: [true, true, true], rewrite: "ok", tmp: [] };
  assert.deepEqual(JSON.parse(await deliveryScenario(tempDir())), unnamed);
  // Files named in tmp/: a second write of one name is refused, and what failed stays in tmp/
  // for the next run's cleanup.
  const named = { ...common, held: [false, false, false], rewrite: "EEXIST (names the file)", tmp: ["d", "e"] };
  assert.deepEqual(JSON.parse(await deliveryScenario(tempDir(), true)), named);
  const helper = JSON.stringify(path.join(REPO, "test", "helpers", "delivery-scenario.ts"));
  const inChild = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `import(${helper}).then((m) => m.deliveryScenario(${JSON.stringify(tempDir())})).then(console.log)`], {
      encoding: "utf8",
      env: { ...process.env, ...env },
      cwd: REPO,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  // The same in a process without the native addon: fs callbacks, link() + unlink().
  assert.deepEqual(inChild({ MAILSTORE_NO_NATIVE: "1" }), named);
  // Unnamed files linked through /proc/self/fd/N, as on Linux before 6.10 for a run without
  // CAP_DAC_READ_SEARCH: the same results, a taken name refused all the same.
  assert.deepEqual(inChild({ MAILSTORE_FD_DIR: "/proc/self/fd" }), unnamed);
  // Where that directory is missing (no /proc in a container), the probe finds unnamed files
  // cannot be linked, and files are named in tmp/ instead.
  assert.deepEqual(inChild({ MAILSTORE_FD_DIR: "/nonexistent/fd" }), named);
});

test("linkNewFile creates a file whole (0600, flushed, then named), and never over one that exists", () => {
  const native = nativeAddon();
  assert.ok(native, "the native addon is built by npm install");
  const dir = tempDir();
  const bytes = Buffer.from("a ready-made image\n\u0000\u00ff".repeat(1000), "latin1");
  assert.equal(native.linkNewFile(dir, "made", bytes, -1, -1), true);
  assert.deepEqual(fs.readFileSync(path.join(dir, "made")), bytes);
  assert.equal(fs.statSync(path.join(dir, "made")).mode & 0o777, 0o600);
  fs.writeFileSync(path.join(dir, "taken"), "already here\n");
  assert.equal(native.linkNewFile(dir, "taken", bytes, -1, -1), false);
  assert.equal(fs.readFileSync(path.join(dir, "taken"), "utf8"), "already here\n");
  assert.deepEqual(fs.readdirSync(dir).sort(), ["made", "taken"], "no file left without its name");
  assert.throws(() => native.linkNewFile(path.join(dir, "missing"), "x", bytes, -1, -1), (err: NodeJS.ErrnoException) => err.code === "ENOENT" && err.message.includes("missing"));
});

test("an unnamed group that fails part-way closes every descriptor it opened", async () => {
  const dir = tempDir();
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub));
  const writer = new FolderWriter(dir, { sync: "durable" });
  assert.equal(writer.unnamed, true, "O_TMPFILE works where the tests run");
  const before = openDescriptors(dir);
  const group = ["x", "y", "z"].map((name) => ({ tmpName: name, finalName: name, subdir: "new" as const, fd: -1 }));
  // The second file's time cannot be set (NaN): the job fails there.
  const failed = writer.writeGroup(group.map((staged, i) => ({ staged, pieces: [Buffer.from(`message ${i}\n`)], mtime: new Date(i === 1 ? NaN : 0) })));
  await assert.rejects(failed, (err: NodeJS.ErrnoException) => err.code === "EINVAL" && err.message.includes(path.join(dir, "tmp", "y")));
  assert.deepEqual(group.map((m) => m.fd), [-1, -1, -1], "no descriptor handed out");
  assert.equal(openDescriptors(dir), before, "the first file's descriptor was closed");
  assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")), []);
});

test("removeStale takes this source's tmp/ leftovers and stray probe files, and nothing else", () => {
  const dir = tempDir();
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub));
  const writer = new FolderWriter(dir, { sync: "none" });
  const names = ["mailstore.3.0", "mailstore.3.17", "mailstore.probe.999.1", "mailstore.31.0", "1795444160.M0P1.host"];
  for (const name of names) fs.writeFileSync(path.join(dir, "tmp", name), "x");
  assert.equal(writer.removeStale("mailstore.3."), 3);
  assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")).sort(), ["1795444160.M0P1.host", "mailstore.31.0"]);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { scanUser, unchangedScan } from "../../src/report/scan-user.js";
import { realMessages, tempDir } from "../helpers/mbox.js";
import { deliver } from "../helpers/tree.js";

const opts = (home: string) => ({ rootDev: fs.statSync(home).dev, crossFilesystems: false, startedMs: Date.now() });
const setOld = (dir: string) => {
  const t = (Date.now() - 120_000) / 1000;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) setOld(path.join(dir, e.name));
  fs.utimesSync(dir, t, t);
};

test("scanUser: roles, message and index bytes, tmp times, nothing followed", () => {
  const home = path.join(tempDir(), "u");
  const [a, b, c] = realMessages("lf", 3).map((m) => m.bytes);
  deliver(home, a);
  deliver(home, b, { sub: "new" });
  deliver(path.join(home, ".Lists.dev"), c);
  deliver(home, a, { sub: "tmp", mtime: Date.now() - 3_600_000 });
  fs.writeFileSync(path.join(home, "dovecot.index.cache"), Buffer.alloc(3000));
  fs.writeFileSync(path.join(home, "subscriptions"), "Lists.dev\n");
  fs.symlinkSync("/etc", path.join(home, ".Escape"));
  const scan = scanUser(home, "u", "u", undefined, opts(home));
  const byRel = new Map(scan.dirs.map((d) => [d.rel, d]));
  assert.deepEqual([...byRel.keys()].sort(), ["", ".Lists.dev", ".Lists.dev/cur", ".Lists.dev/new", ".Lists.dev/tmp", "cur", "new", "tmp"]);
  assert.equal(byRel.get(".Lists.dev")?.role, "folder");
  assert.equal(byRel.get("cur")?.messageBytes, a.length);
  assert.equal(byRel.get("new")?.messages, 1);
  assert.equal(byRel.get(".Lists.dev/cur")?.messageBytes, c.length);
  assert.equal(byRel.get("")?.indexBytes, 3000);
  assert.equal(byRel.get("")?.otherBytes, "Lists.dev\n".length);
  assert.equal(byRel.get("tmp")?.messages, 0);
  assert.equal(byRel.get("tmp")?.times.length, 1);
  assert.deepEqual(byRel.get("")?.symlinks, [[".Escape", "/etc"]]);
  assert.equal(scan.rescanned, 8);
});

test("cache: a home is reused only while no directory in it changed, and never when changed too recently", () => {
  const home = path.join(tempDir(), "u");
  const msgs = realMessages("lf", 3).map((m) => m.bytes);
  deliver(home, msgs[0]);
  deliver(path.join(home, ".Sent"), msgs[1]);
  // Fresh directories (changed within a second of the scan) are recorded as untrusted.
  const fresh = scanUser(home, "u", "u", undefined, opts(home));
  assert.ok(fresh.dirs.every((d) => d.mtimeNs === ""));
  assert.equal(unchangedScan(home, "u", "u", fresh.dirs, opts(home)), undefined);

  setOld(home);
  const first = scanUser(home, "u", "u", undefined, opts(home));
  const again = unchangedScan(home, "u", "u", first.dirs, opts(home));
  assert.deepEqual(again?.dirs, first.dirs);

  // A flag change renames within cur/ (no new directory entry count), still a change of cur/.
  const cur = path.join(home, ".Sent", "cur");
  const name = fs.readdirSync(cur)[0];
  fs.renameSync(path.join(cur, name), path.join(cur, name.replace(/:2,S$/, ":2,FS")));
  assert.equal(unchangedScan(home, "u", "u", first.dirs, opts(home)), undefined);
  const partial = scanUser(home, "u", "u", first.dirs, opts(home));
  assert.equal(partial.rescanned, 1);
  assert.equal(partial.dirs.find((d) => d.rel === ".Sent/cur")?.messages, 1);
});

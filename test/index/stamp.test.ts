import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { type Stamp, STATE_FILE, StampStore } from "../../src/index/stamp.js";
import { tempDir } from "../helpers/mbox.js";

const stamp = (n: number): Stamp => ({ folders: [["INBOX", `${n}000`, `${n}001`]], db: [n, 4096, `${n}002`] });

test("the state file keeps stamps across runs; null forgets one; two runs saving keep both", () => {
  const root = tempDir();
  const file = path.join(root, STATE_FILE);
  const first = new StampStore(file);
  assert.equal(first.get("ann"), undefined);
  first.save(new Map([["ann", stamp(1)], ["bob", stamp(2)]]));
  assert.deepEqual(new StampStore(file).get("bob"), stamp(2));

  // Two runs that started before either saved: the second rereads the file before writing.
  const a = new StampStore(file);
  const b = new StampStore(file);
  a.save(new Map([["cem", stamp(3)]]));
  b.save(new Map([["ann", null]]));
  const now = new StampStore(file);
  assert.deepEqual([now.get("ann"), now.get("bob"), now.get("cem")], [undefined, stamp(2), stamp(3)]);
  assert.deepEqual(fs.readdirSync(root), [STATE_FILE], "no temporary file left");
});

test("an unreadable state file counts as empty and is replaced; the old SQLite one is removed", () => {
  const root = tempDir();
  const file = path.join(root, STATE_FILE);
  fs.writeFileSync(file, "{not json");
  fs.writeFileSync(path.join(root, ".mailstore-index-state.sqlite"), "old");
  const store = new StampStore(file);
  assert.equal(store.get("ann"), undefined);
  store.save(new Map([["ann", stamp(1)]]));
  assert.deepEqual(new StampStore(file).get("ann"), stamp(1));
  assert.deepEqual(fs.readdirSync(root), [STATE_FILE]);
});

test("a state file that is a symlink is refused, never followed", () => {
  const root = tempDir();
  const elsewhere = path.join(tempDir(), "target.json");
  fs.writeFileSync(elsewhere, JSON.stringify({ version: 1, stamps: { ann: stamp(1) } }));
  fs.symlinkSync(elsewhere, path.join(root, STATE_FILE));
  assert.throws(() => new StampStore(path.join(root, STATE_FILE)), /symlink/);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { noteHeld, noteReleased, removeHeldFiles } from "../../src/util/held-files.js";
import { tempDir } from "../helpers/mbox.js";

test("held files are removed on demand, but not one released, nor one made again by someone else under the same name", () => {
  const dir = tempDir();
  const file = (name: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, "1:host\n");
    return { path: p, ino: fs.statSync(p).ino };
  };
  const kept = file("kept.lock");
  const released = file("released.lock");
  const replaced = file("replaced.lock");
  for (const f of [kept, released, replaced]) noteHeld(f);
  noteReleased(released);
  // Another process's lock now has the name: a new file, another inode.
  fs.renameSync(path.join(dir, "released.lock"), path.join(dir, "moved"));
  fs.writeFileSync(path.join(dir, "other"), "");
  fs.renameSync(path.join(dir, "other"), replaced.path);
  assert.equal(removeHeldFiles(), 1);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["moved", "replaced.lock"]);
  assert.equal(removeHeldFiles(), 0, "nothing is held any more");
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { replaceFile } from "../../src/util/replace-file.js";
import { tempDir } from "../helpers/mbox.js";

test("replaceFile replaces whole, never writes through a planted symlink, leaves nothing on failure", () => {
  const dir = tempDir();
  const file = path.join(dir, "state.json");
  replaceFile(file, "one", { mode: 0o600 });
  replaceFile(file, "two", { mode: 0o640, flush: true });
  assert.equal(fs.readFileSync(file, "utf8"), "two");
  assert.equal(fs.statSync(file).mode & 0o777, 0o640);
  // A symlink planted where the temporary file goes is removed, not written through.
  const victim = path.join(dir, "victim");
  fs.writeFileSync(victim, "untouched");
  fs.symlinkSync(victim, `${file}.${process.pid}.tmp`);
  replaceFile(file, "three", { mode: 0o600 });
  assert.equal(fs.readFileSync(victim, "utf8"), "untouched");
  assert.equal(fs.readFileSync(file, "utf8"), "three");
  // Renaming over a directory fails: the old entry stays, no temporary file is left.
  const taken = path.join(dir, "taken");
  fs.mkdirSync(taken);
  assert.throws(() => replaceFile(taken, "x", { mode: 0o600, tmp: path.join(dir, ".taken.tmp") }));
  assert.ok(fs.statSync(taken).isDirectory());
  assert.deepEqual(fs.readdirSync(dir).sort(), ["state.json", "taken", "victim"]);
});

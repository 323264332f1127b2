import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { walkTree } from "../../src/maildir/tree-walk.js";
import { realMessages, tempDir } from "../helpers/mbox.js";
import { deliver, userHome } from "../helpers/tree.js";

test("walkTree: hashed homes, flat and misplaced Maildirs, strays, symlinks; never follows a link", () => {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const msg = realMessages("lf", 1)[0].bytes;
  deliver(userHome(root, "alice"), msg);
  deliver(path.join(root, "ab", "cd", "wrongbucket"), msg);
  deliver(path.join(root, "example.com", "bob", "Maildir"), msg);
  deliver(path.join(root, "carol"), msg);
  fs.mkdirSync(path.join(root, "empty-dir"));
  fs.writeFileSync(path.join(root, "README"), "stray\n");
  fs.writeFileSync(path.join(root, ".mailstore.json"), "{}");
  fs.symlinkSync(root, path.join(root, "ab", "loop"));
  deliver(path.join(dir, "elsewhere", "eve"), msg);
  fs.symlinkSync(path.join(dir, "elsewhere"), path.join(root, "linked-home"));

  const walk = walkTree(root, [2, 2], { crossFilesystems: false });
  const users = walk.users.map((u) => [u.user, u.rel, u.hashed]).sort();
  assert.deepEqual(users, [
    ["alice", path.relative(root, userHome(root, "alice")), true],
    ["bob", "example.com/bob/Maildir", false],
    ["carol", "carol", false],
    ["wrongbucket", "ab/cd/wrongbucket", false],
  ].sort());
  assert.deepEqual(walk.strays.sort(), [path.join(root, "README"), path.join(root, "empty-dir")].sort());
  assert.deepEqual(walk.symlinks.map((s) => s.path).sort(), [path.join(root, "ab", "loop"), path.join(root, "linked-home")].sort());
  assert.ok(walk.buckets.some((b) => b.rel === "ab/cd" && b.level === 2 && b.entries === 1));
});

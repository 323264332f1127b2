import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { messageFiles } from "../../src/maildir/message-listing.js";
import { forEachMessageFile, type MessageFile, messageFileOf } from "../../src/maildir/scan.js";
import { tempDir } from "../helpers/mbox.js";

/** The model: a Map filled in listing order, a later file replacing an earlier one of the same base. */
function mapOf(folder: string): Map<string, MessageFile> {
  const map = new Map<string, MessageFile>();
  forEachMessageFile(folder, (name, subdir) => {
    const f = messageFileOf(name, subdir);
    map.set(f.base, f);
  });
  return map;
}

test("a listing answers as a Map of the folder's files by base name would, through lookups and removals", () => {
  const folder = tempDir();
  for (const sub of ["new", "cur", "tmp"]) fs.mkdirSync(path.join(folder, sub));
  const names: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const base = `17${String(i * 7919).padStart(8, "0")}.M${i}P${i % 97}.host`;
    names.push(i % 3 ? `cur/${base},S=${i}:2,${i % 2 ? "S" : "FS"}` : `new/${base},S=${i}`);
  }
  // The same base in new/ and cur/ (the cur/ one counts), names without "," or ":", odd names.
  names.push("new/1700000001.M9P9.dup,S=1", "cur/1700000001.M9P9.dup,S=1:2,S", "new/plain", "cur/a:b,c", "cur/x,y,z:2,T", "new/ünï.côde");
  for (const n of names) fs.writeFileSync(path.join(folder, n), "");
  fs.writeFileSync(path.join(folder, "cur", ".hidden"), "");
  fs.mkdirSync(path.join(folder, "new", "a-directory"));

  const listing = messageFiles(folder);
  const model = mapOf(folder);
  assert.equal(model.size, names.length - 1);
  assert.equal(listing.size, model.size);
  assert.deepEqual(listing.get("1700000001.M9P9.dup"), model.get("1700000001.M9P9.dup"));
  assert.equal(listing.get("1700000001.M9P9.dup")?.subdir, "cur");
  for (const base of [...model.keys(), "absent", "a", "x", "plain,", "1700000001", ""]) {
    assert.deepEqual(listing.get(base), model.get(base), base);
    assert.equal(listing.has(base), model.has(base), base);
  }
  // Take out every third file, and some that are not there.
  for (const [i, base] of [...model.keys(), "absent"].entries()) {
    if (i % 3 === 0 || base === "absent") assert.equal(listing.delete(base), model.delete(base), base);
  }
  // take: what get gives, then out, as delete would have it.
  for (const [i, base] of [...model.keys()].entries()) {
    if (i % 5 !== 0) continue;
    assert.deepEqual(listing.take(base), model.get(base), base);
    model.delete(base);
    assert.equal(listing.take(base), undefined, `${base} taken twice`);
  }
  assert.equal(listing.size, model.size);
  assert.equal(listing.delete([...mapOf(folder).keys()][0]), false, "taken out once only");
  for (const base of mapOf(folder).keys()) assert.deepEqual(listing.get(base), model.get(base), base);
  const sortKey = (f: MessageFile) => `${f.subdir}/${f.name}`;
  assert.deepEqual([...listing.values()].map(sortKey).sort(), [...model.values()].map(sortKey).sort());
});

test("an empty or half-made folder lists nothing", () => {
  const folder = tempDir();
  assert.equal(messageFiles(folder).size, 0);
  fs.mkdirSync(path.join(folder, "cur"));
  fs.writeFileSync(path.join(folder, "cur", "1.M1.h:2,S"), "");
  const listing = messageFiles(folder);
  assert.deepEqual([...listing.values()], [messageFileOf("1.M1.h:2,S", "cur")]);
  assert.equal(listing.has("1.M1.h"), true);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ListingDigest, listingDigest, listingMatches } from "../../src/maildir/listing-digest.js";
import { messageFiles } from "../../src/maildir/message-listing.js";
import { messageFileOf } from "../../src/maildir/scan.js";
import { tempDir } from "../helpers/mbox.js";

/** The digest of what messageFiles makes of a folder, built from its parts as the index feed builds it. */
function listed(folder: string): ListingDigest {
  const digest = new ListingDigest();
  for (const f of messageFiles(folder).values()) digest.add(f.base, f.subdir, f.info);
  return digest;
}

test("listingMatches says yes exactly when messageFiles would show what the caller expects", () => {
  const folder = tempDir();
  for (const sub of ["new", "cur", "tmp"]) fs.mkdirSync(path.join(folder, sub));
  const put = (file: string) => fs.writeFileSync(path.join(folder, file), "Subject: x\n\nx\n");
  put("new/1700000000.M1P2R3.host,S=14");
  put("new/1700000001.M2P2R3.host");
  put("cur/1700000002.M3P2R3.host,S=14:2,S");
  put("cur/1700000003.M4P2R3.host:2,");
  put("cur/1700000004.M5P2R3.host,S=14:2,FRS");
  // What neither counts: dot files, directories, symlinks, tmp/.
  put("cur/.hidden");
  put("tmp/1700000005.M6P2R3.host");
  fs.mkdirSync(path.join(folder, "new", "1700000006.M7P2R3.host"));
  fs.symlinkSync(path.join(folder, "new", "1700000001.M2P2R3.host"), path.join(folder, "cur", "1700000007.M8P2R3.host:2,S"));
  const expected = listed(folder);
  assert.equal(expected.count, 5);
  assert.ok(listingMatches(folder, expected));

  const changes: Array<[string, () => void, () => void]> = [
    ["a file gone", () => fs.renameSync(path.join(folder, "new/1700000001.M2P2R3.host"), path.join(folder, "gone")), () => fs.renameSync(path.join(folder, "gone"), path.join(folder, "new/1700000001.M2P2R3.host"))],
    ["a file more", () => put("new/1700000009.M9P2R3.host"), () => fs.rmSync(path.join(folder, "new/1700000009.M9P2R3.host"))],
    ["flags changed", () => fs.renameSync(path.join(folder, "cur/1700000003.M4P2R3.host:2,"), path.join(folder, "cur/1700000003.M4P2R3.host:2,T")), () => fs.renameSync(path.join(folder, "cur/1700000003.M4P2R3.host:2,T"), path.join(folder, "cur/1700000003.M4P2R3.host:2,"))],
    ["moved new -> cur", () => fs.renameSync(path.join(folder, "new/1700000000.M1P2R3.host,S=14"), path.join(folder, "cur/1700000000.M1P2R3.host,S=14")), () => fs.renameSync(path.join(folder, "cur/1700000000.M1P2R3.host,S=14"), path.join(folder, "new/1700000000.M1P2R3.host,S=14"))],
    ["one base in new/ and cur/", () => put("cur/1700000001.M2P2R3.host:2,S"), () => fs.rmSync(path.join(folder, "cur/1700000001.M2P2R3.host:2,S"))],
  ];
  for (const [what, change, undo] of changes) {
    change();
    assert.equal(listingMatches(folder, expected), false, what);
    // A case messageFiles itself tells apart (the last one it shows as a single file).
    if (what !== "one base in new/ and cur/") assert.equal(listed(folder).equals(expected), false, what);
    undo();
    assert.ok(listingMatches(folder, expected), `${what}, undone`);
  }
  // A folder without cur/ (as messageFiles reads it: nothing there).
  fs.rmSync(path.join(folder, "cur"), { recursive: true });
  assert.ok(listingMatches(folder, listed(folder)));
  assert.equal(listingMatches(folder, expected), false);
});

test("a digest is the same whatever order the files come in, and names parse as messageFileOf parses them", () => {
  const names: Array<[string, "new" | "cur"]> = [
    ["1700000000.M1P2R3.host,S=14", "new"],
    ["1700000001.M2P2R3.host", "new"],
    ["1700000002.M3P2R3.host,S=14:2,S", "cur"],
    ["1700000003.M4P2R3.host:2,", "cur"],
    ["1700000004.M5P2R3.host,S=14,W=15:2,FRS", "cur"],
    ["odd:name,with:colons", "cur"],
    ["nocolon,comma", "new"],
    ["ünïcode.M6:2,a", "cur"],
  ];
  const byName = new ListingDigest();
  const byParts = new ListingDigest();
  for (const [name, subdir] of names) {
    byName.addName(name, subdir);
    const f = messageFileOf(name, subdir);
    byParts.add(f.base, f.subdir, f.info);
  }
  assert.ok(byName.equals(byParts));
  const reversed = new ListingDigest();
  for (const [name, subdir] of [...names].reverse()) reversed.addName(name, subdir);
  assert.ok(reversed.equals(byName));

  // Every one-character change to one file of a set is seen: base, info, subdir, and the
  // boundary between base and info moved.
  const variants: Array<[string, string, string]> = [
    ["1700000001.M2P2R3.hosu", "new", ""],
    ["1700000001.M2P2R3.host", "cur", ""],
    ["1700000001.M2P2R3.host", "new", "2,"],
    ["1700000001.M2P2R3.hos", "new", "t"],
  ];
  for (const [base, subdir, info] of variants) {
    const changed = new ListingDigest();
    for (const [name, sub] of names) {
      if (name === "1700000001.M2P2R3.host") changed.add(base, subdir, info);
      else changed.addName(name, sub);
    }
    assert.equal(changed.count, byName.count);
    assert.equal(changed.equals(byName), false, `${subdir}/${base}:${info}`);
  }
});

test("a folder's digest, read entry by entry, matches across many files and misses none of them", () => {
  const folder = tempDir();
  for (const sub of ["new", "cur", "tmp"]) fs.mkdirSync(path.join(folder, sub));
  const digest = new ListingDigest();
  for (let i = 0; i < 1500; i++) {
    const [sub, name] = i % 3 ? ["cur", `17000${i}.M${i}P9.host,S=${i}:2,${i % 2 ? "S" : ""}`] : ["new", `17000${i}.M${i}P9.host,S=${i}`];
    fs.writeFileSync(path.join(folder, sub, name), "");
    const f = messageFileOf(name, sub as "new" | "cur");
    digest.add(f.base, f.subdir, f.info);
  }
  assert.equal(listingDigest(folder).count, 1500);
  assert.ok(listingMatches(folder, digest));
  // Far past the first read of a few hundred entries, one file's flags change.
  const late = fs.readdirSync(path.join(folder, "cur")).at(-1) as string;
  fs.renameSync(path.join(folder, "cur", late), path.join(folder, "cur", `${late}T`));
  assert.equal(listingMatches(folder, digest), false);
});

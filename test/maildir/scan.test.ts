import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileState, listingMatches, messageFiles } from "../../src/maildir/scan.js";
import { tempDir } from "../helpers/mbox.js";

/** What messageFiles makes of a folder, in listingMatches' terms. */
const listed = (folder: string) => new Map([...messageFiles(folder)].map(([base, f]) => [base, fileState(f.subdir, f.info)]));

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
  assert.equal(expected.size, 5);
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
    if (what !== "one base in new/ and cur/") assert.notDeepEqual(listed(folder), expected, what);
    undo();
    assert.ok(listingMatches(folder, expected), `${what}, undone`);
  }
  // A folder without cur/ (as messageFiles reads it: nothing there).
  fs.rmSync(path.join(folder, "cur"), { recursive: true });
  assert.ok(listingMatches(folder, listed(folder)));
  assert.equal(listingMatches(folder, expected), false);
});

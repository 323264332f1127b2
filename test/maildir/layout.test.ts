import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { test } from "node:test";
import { encodeMutf7, folderDirName, parseFanout, userMaildir, userNameProblem } from "../../src/maildir/layout.js";

test("the user's Maildir sits under the MD5 of the name, as md5sum computes it", () => {
  for (const user of ["alice", "bob.smith", "jürgen"]) {
    const hash = execSync(`printf %s '${user}' | md5sum`).toString().slice(0, 32);
    assert.equal(userMaildir("/srv/mail", user), `/srv/mail/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${user}`);
  }
  assert.equal(userMaildir("/r", "alice"), "/r/63/84/alice");
});

test("fanout levels and widths are configurable", () => {
  assert.deepEqual(parseFanout("1,2"), [1, 2]);
  assert.equal(userMaildir("/r", "alice", [1, 2]), "/r/6/38/alice");
  assert.equal(userMaildir("/r", "alice", [3]), "/r/638/alice");
  assert.equal(userMaildir("/r", "alice", parseFanout("0")), "/r/alice");
  assert.throws(() => parseFanout("2,x"), /bad fanout/);
});

test("user names that cannot be directories are refused", () => {
  assert.equal(userNameProblem("alice"), null);
  for (const bad of ["", "a/b", ".hidden", "tab\there", "nul\x00"]) assert.ok(userNameProblem(bad), JSON.stringify(bad));
});

test("Maildir++ folder names", () => {
  assert.equal(folderDirName(undefined), "");
  assert.equal(folderDirName("INBOX"), "");
  assert.equal(folderDirName("Archive/2019"), ".Archive.2019");
  assert.equal(folderDirName("Entwürfe"), ".Entw&APw-rfe");
  assert.throws(() => folderDirName("v1.2"), /level separator/);
  assert.throws(() => folderDirName("../x"), /starting with/);
  assert.throws(() => folderDirName("a//b"), /empty level/);
});

test("modified UTF-7 as RFC 3501 gives it", () => {
  assert.equal(encodeMutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assert.equal(encodeMutf7("A&B"), "A&-B");
});

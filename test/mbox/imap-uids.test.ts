import assert from "node:assert/strict";
import { test } from "node:test";
import { parseImapBase, parseUid, parseUidl } from "../../src/mbox/imap-uids.js";

test("X-IMAPbase and X-IMAP give UIDVALIDITY and the last UID; keywords after them are ignored", () => {
  assert.deepEqual(parseImapBase("1796647924 0000000037 $Forwarded Junk"), { validity: 1796647924, last: 37 });
  assert.deepEqual(parseImapBase("  1002704010 0000000002"), { validity: 1002704010, last: 2 });
  // An empty folder's base: nothing given yet.
  assert.deepEqual(parseImapBase("1002704010 0000000000"), { validity: 1002704010, last: 0 });
  for (const bad of [undefined, "", "1002704010", "0 5", "x 5", "1002704010 -1", "4294967296 5", "1002704010 4294967295", "12345678901 5"]) {
    assert.equal(parseImapBase(bad), null, String(bad));
  }
});

test("X-UID is a UID from 1 to 2^32-1, padding allowed; X-UIDL is printable ASCII without spaces, up to 70 characters", () => {
  assert.equal(parseUid("10               "), 10);
  assert.equal(parseUid("4294967295"), 4294967295);
  for (const bad of [undefined, "", "0", "4294967296", "1e3", "12 13", "-4", "0x10"]) assert.equal(parseUid(bad), null, String(bad));
  assert.equal(parseUidl(" 1a2b3c4d5e "), "1a2b3c4d5e");
  assert.equal(parseUidl("!~"), "!~");
  assert.equal(parseUidl("x".repeat(70)), "x".repeat(70));
  for (const bad of [undefined, "", "x".repeat(71), "a b", "é", "a\tb"]) assert.equal(parseUidl(bad), null, String(bad));
});

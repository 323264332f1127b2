import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { flagsFromHeader, infoSuffix } from "../../src/maildir/flags.js";
import { KeywordTable } from "../../src/maildir/keywords.js";
import { baseOf, finalName, maildirHost, NameGenerator } from "../../src/maildir/names.js";
import { tempDir } from "../helpers/mbox.js";

const flags = (header: string) => flagsFromHeader(Buffer.from(`${header}\n\nbody\n`));

test("Status and X-Status map to Maildir flags", () => {
  assert.deepEqual(flags("Status: RO\nX-Status: AFDT"), { flags: "DFRST", cur: true, keywords: [] });
  assert.deepEqual(flags("Status: O"), { flags: "", cur: true, keywords: [] });
  assert.deepEqual(flags("Subject: new mail"), { flags: "", cur: false, keywords: [] });
  assert.deepEqual(flags("X-Status: F"), { flags: "F", cur: true, keywords: [] });
});

test("a Status line alone maps as it does beside other bookkeeping lines that add nothing", () => {
  for (const status of ["R", "O", "RO", "OR", "", "U", "r", "ROx"]) {
    const alone = flags(`Status: ${status}`);
    assert.deepEqual(alone, flags(`Status: ${status}\nX-Status: \nX-Keywords: `), status);
    assert.deepEqual(alone, { flags: status.includes("R") ? "S" : "", cur: /[RO]/.test(status), keywords: [] }, status);
  }
});

test("only the header block counts; a Status line in the body does not", () => {
  assert.deepEqual(flagsFromHeader(Buffer.from("Subject: x\n\nStatus: RO\n")), { flags: "", cur: false, keywords: [] });
});

test("X-Keywords become keywords, folded or comma separated", () => {
  assert.deepEqual(flags("X-Keywords: $Forwarded Junk,\n NonJunk").keywords, ["$Forwarded", "Junk", "NonJunk"]);
});

test("Thunderbird's X-Mozilla-Status flags map too: read, replied, marked, expunged (kept, as deleted), forwarded as $Forwarded; its tags become keywords", () => {
  assert.deepEqual(flags("X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000"), { flags: "S", cur: true, keywords: [] });
  assert.deepEqual(flags("X-Mozilla-Status: 000f"), { flags: "FRST", cur: true, keywords: [] });
  assert.deepEqual(flags("X-Mozilla-Status: 1001"), { flags: "S", cur: true, keywords: ["$Forwarded"] });
  // Unread mail Thunderbird has shown is old mail (cur/), as with Status: O; mail it marks
  // new (X-Mozilla-Status2 0x10000) stays in new/.
  assert.deepEqual(flags("X-Mozilla-Status: 0000\nX-Mozilla-Status2: 00000000"), { flags: "", cur: true, keywords: [] });
  assert.deepEqual(flags("X-Mozilla-Status: 0000\nX-Mozilla-Status2: 00010000"), { flags: "", cur: false, keywords: [] });
  // Tags, padded with spaces as Thunderbird writes them, and alongside X-Keywords.
  assert.deepEqual(flags(`X-Mozilla-Status: 0001\nX-Mozilla-Keys: $label1 work${" ".repeat(70)}\nX-Keywords: Junk`).keywords, ["Junk", "$label1", "work"]);
  assert.deepEqual(flags("X-Mozilla-Status: 1000\nX-Keywords: $Forwarded").keywords, ["$Forwarded"], "not twice");
  // With Status and X-Status as well, every flag either gives.
  assert.deepEqual(flags("Status: O\nX-Status: A\nX-Mozilla-Status: 0004"), { flags: "FR", cur: true, keywords: [] });
  // A value that is not Thunderbird's hex is no flag at all.
  assert.deepEqual(flags("X-Mozilla-Status: read"), { flags: "", cur: false, keywords: [] });
  assert.deepEqual(flags("X-Mozilla-Status: 12345"), { flags: "", cur: false, keywords: [] });
});

test("Google Takeout's X-Gmail-Labels: read unless Unread, Starred flagged, IMAP_ labels as keywords; folders and categories are no flags", () => {
  assert.deepEqual(flags("X-Gmail-Labels: Inbox,Opened,Category Personal"), { flags: "S", cur: true, keywords: [] });
  assert.deepEqual(flags("X-Gmail-Labels: Inbox,Unread"), { flags: "", cur: true, keywords: [] }, "unread, but not new mail");
  assert.deepEqual(flags("X-Gmail-Labels: Archived,Starred,Important"), { flags: "FS", cur: true, keywords: [] });
  assert.deepEqual(flags("X-Gmail-Labels: Inbox,Opened,IMAP_$Forwarded,IMAP_Junk,IMAP_a b, Trash"), { flags: "S", cur: true, keywords: ["$Forwarded", "Junk"] });
  assert.deepEqual(flags("X-Gmail-Labels: Unread,IMAP_$Forwarded\nX-Keywords: $Forwarded").keywords, ["$Forwarded"], "not twice");
});

test("info suffix: flags and keyword letters in ASCII order", () => {
  assert.equal(infoSuffix("SF", "ba"), ":2,FSab");
});

test("keywords get letters and a dovecot-keywords file, keeping entries already there", () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "dovecot-keywords"), "0 $Label1\n");
  const table = new KeywordTable(dir);
  assert.equal(table.letters(["Junk", "$Label1"]), "ba");
  table.save();
  assert.equal(fs.readFileSync(path.join(dir, "dovecot-keywords"), "utf8"), "0 $Label1\n1 Junk\n");
  const many = Array.from({ length: 30 }, (_, i) => `k${i}`);
  const full = new KeywordTable(dir);
  assert.equal(full.letters(many).length, 24);
  assert.equal(full.dropped.size, 6);
});

test("names are unique, carry S=size and sort in delivery order", () => {
  const gen = new NameGenerator(1_700_000_000_000, "mx1");
  const names = Array.from({ length: 1500 }, () => gen.next());
  assert.equal(new Set(names).size, names.length);
  assert.match(names[0], /^1700000000\.M0P\d+R[0-9a-f]{8}\.mx1$/);
  const full = finalName(names[0], 1234, ":2,S");
  assert.match(full, /,S=1234:2,S$/);
  assert.equal(baseOf(full), names[0]);
  assert.equal(maildirHost("a/b:c"), "a\\057b\\072c");
});

test("received time: the From_ date, else the Date header, else the fallback", async () => {
  const { receivedTime } = await import("../../src/migrate/message-step.js");
  const fallback = new Date(0);
  const header = Buffer.from("Date: Thu, 18 Sep 2008 17:54:04 +0900 (JST)\nSubject: x\n\n");
  assert.equal(receivedTime(new Date(5_000), header, fallback).getTime(), 5_000);
  assert.equal(receivedTime(null, header, fallback).toISOString(), "2008-09-18T08:54:04.000Z");
  assert.equal(receivedTime(null, Buffer.from("Date: not a date\n\n"), fallback).getTime(), 0);
  // Whole seconds, whichever source gave the time (a file's mtime has milliseconds).
  assert.equal(receivedTime(null, Buffer.from("Date: not a date\n\n"), new Date(1_234_567_890_987)).getTime(), 1_234_567_890_000);
  assert.equal(receivedTime(new Date(-1_500), header, fallback).getTime(), -2_000);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { headerFields, headerText, headerValuesOf } from "../../src/util/rfc5322.js";
import { nativeAddon } from "../../src/util/native.js";

// Byte-level pieces a header block is made of here: names in odd spellings and spacings
// (whitespace as JavaScript's trim() sees it, in UTF-8 and in Latin-1), values with 8-bit
// text, and bytes that make a block invalid UTF-8 so that it is read as Latin-1.
const utf8 = (s: string) => Buffer.from(s, "utf8");
const bytes = (...b: number[]) => Buffer.from(b);
const NAMES: Buffer[] = [
  ...["Subject", "SUBJECT", "subject", "From", "To", "Cc", "Date", "Status", "X-Status", "X-Keywords", "x-keywords", "Received", "Subjec", "Tox", "Message-ID", "Content-Type"].map(utf8),
  utf8("\fDate"),
  utf8("Date\u000b"),
  utf8("\u00a0To"),
  utf8("To\u2028"),
  utf8("\u3000Cc\u2009"),
  utf8("\u1680From\u205f"),
  utf8("\ufeffSubject"),
  utf8("X-\u212Aeywords"),
  utf8("Dat\u00e9"),
  utf8("Subject\u200b"),
  bytes(0xa0, 0x54, 0x6f), // Latin-1 NBSP, "To"
  bytes(0x53, 0x74, 0x61, 0x74, 0x75, 0x73, 0xa0), // "Status", Latin-1 NBSP
];
const VALUES: Buffer[] = ["", " x", "\ty", " a:b", " =?utf-8?q?z?=", " ", " RO", " caf\u00e9", " \u65e5\u672c"].map(utf8);
const BREAKS: Buffer[] = [utf8("\n"), utf8("\r\n"), utf8("\r\r\n"), utf8("\n "), utf8("\n\t"), utf8("\r\n \r\n"), utf8("\n\n"), utf8("\n\r\n")];
const ODD: Buffer[] = [bytes(0xff), bytes(0x80), bytes(0xe2, 0x80), bytes(0xed, 0xa0, 0x80), bytes(0xc0, 0xaf), bytes(0xe0, 0x80, 0xaf), bytes(0xf0, 0x80, 0x80, 0xaf), bytes(0xf4, 0x90, 0x80, 0x80), utf8(":"), utf8("\r"), utf8(" ")];

// One case for each rule the two readings must share, whatever the random blocks hit.
const CRAFTED: Buffer[] = [
  utf8("X-\u212Aeywords: kelvin\nSubject: s\n"),
  Buffer.concat([bytes(0xa0), utf8("To: nbsp\n"), bytes(0xe9), utf8("\n")]),
  Buffer.concat([utf8("Subject: overlong "), bytes(0xe0, 0x80, 0xaf), utf8("\nTo: t\n")]),
  Buffer.concat([utf8("Subject: overlong "), bytes(0xf0, 0x8f, 0xbf, 0xbf), utf8("\n\u00a0To: t\n")]),
  Buffer.concat([utf8("Subject: surrogate "), bytes(0xed, 0xa0, 0x80), utf8("\n\u00a0To: t\n")]),
  utf8("Subject: a\r\n\r\nTo: after the end\r\n"),
  utf8("Subject: a\n\r\nTo: after the end\n"),
  utf8("Subject: a\r\r\nTo: b\r\n \r\n\tc\r\n"),
  utf8("\ufeff To: continuation of nothing\nTo: real\n"),
  utf8("\ufeffTo: bom\n"),
  utf8("To\u2028: ls\nCc\u3000: ideographic\n"),
  utf8(":To: x\nTo : y\n"),
];

/** headerFields' answer in headerValuesOf's form: the values in the order asked, undefined where absent. */
const valuesOf = (text: string, wanted: string[]) => {
  const found = headerFields(text, wanted);
  return wanted.map((name) => found.get(name));
};

test("headerValuesOf reads a block's bytes as headerFields reads its text, in UTF-8 and in Latin-1", () => {
  let seed = 17;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pick = <T>(list: T[]) => list[random(list.length)];
  const wantedSets = [
    ["date", "from", "to", "cc", "subject", "message-id", "in-reply-to", "references", "content-type", "content-disposition"],
    ["status", "x-status", "x-keywords"],
    ["x-keywords", "subject"],
  ];
  for (const block of CRAFTED) {
    for (const wanted of wantedSets) {
      assert.deepEqual(headerValuesOf(block, wanted), valuesOf(headerText(block), wanted), `${JSON.stringify(block.toString("latin1"))}, ${wanted}`);
      assert.deepEqual(headerValuesOf(block, wanted, { latin1: true }), valuesOf(block.toString("latin1"), wanted), `as Latin-1: ${JSON.stringify(block.toString("latin1"))}`);
    }
  }
  let asUtf8 = 0;
  let asLatin1 = 0;
  let found = 0;
  for (let i = 0; i < 4000; i++) {
    const parts: Buffer[] = [];
    if (random(8) === 0) parts.push(bytes(0xef, 0xbb, 0xbf));
    if (random(10) === 0) parts.push(pick(VALUES));
    const lines = 1 + random(8);
    for (let l = 0; l < lines; l++) {
      if (random(6) === 0) parts.push(utf8(pick([" ", "\t"])));
      parts.push(pick(NAMES), utf8(pick([":", " :", "\t:", "", ": "])), pick(VALUES));
      if (random(5) === 0) parts.push(pick(ODD));
      parts.push(pick(BREAKS));
    }
    if (random(3) === 0) parts.pop();
    const block = Buffer.concat(parts);
    const latin1Text = block.toString("latin1");
    const text = headerText(block);
    if (text === latin1Text && /[^\x00-\x7f]/.test(latin1Text)) asLatin1++;
    else if (/[^\x00-\x7f]/.test(text)) asUtf8++;
    for (const wanted of wantedSets) {
      const expected = valuesOf(text, wanted);
      found += expected.filter((value) => value !== undefined).length;
      assert.deepEqual(headerValuesOf(block, wanted), expected, `block ${JSON.stringify(latin1Text)}, ${wanted}`);
      assert.deepEqual(headerValuesOf(block, wanted, { latin1: true }), valuesOf(latin1Text, wanted), `as Latin-1: ${JSON.stringify(latin1Text)}, ${wanted}`);
    }
  }
  assert.ok(asUtf8 > 400 && asLatin1 > 400 && found > 500, `blocks read as UTF-8 ${asUtf8}, as Latin-1 ${asLatin1}, fields found ${found}`);
  assert.ok(process.env.MAILSTORE_NO_NATIVE === "1" || nativeAddon() !== null, "the addon is built: the native reading is the one tested");
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import zlib from "node:zlib";
import { nonMboxKind } from "../../src/mbox/not-mbox.js";
import { FIXTURES, realMessages } from "../helpers/mbox.js";

const mbox = fs.readFileSync(path.join(FIXTURES, "mbox", "mbox-0"));
const start = (b: Buffer) => b.subarray(0, 40);

test("not an mbox: a compressed archive is named by its format, with the tool that opens it", () => {
  assert.match(nonMboxKind(start(zlib.gzipSync(mbox))) ?? "", /gzip-compressed: decompress it \(zcat\)/);
  // The other formats' magic numbers, as their specifications give them, before some data.
  const tail = mbox.subarray(0, 30);
  assert.match(nonMboxKind(start(Buffer.concat([Buffer.from("BZh91AY&SY"), tail]))) ?? "", /bzip2-compressed.*bzcat/);
  assert.match(nonMboxKind(start(Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]), tail]))) ?? "", /xz-compressed.*xzcat/);
  assert.match(nonMboxKind(start(Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24]), tail]))) ?? "", /zstd-compressed.*zstdcat/);
});

test("not an mbox: other mailbox formats, a byte order mark and a single message are named", () => {
  assert.match(nonMboxKind(Buffer.from("*mbx*\r\n00000000000000\r\n")) ?? "", /UW-IMAP's mbx/);
  assert.match(nonMboxKind(Buffer.concat([Buffer.from("\x01\x01\x01\x01\n"), realMessages("lf", 1)[0].bytes]).subarray(0, 40)) ?? "", /MMDF/);
  assert.match(nonMboxKind(start(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), mbox]))) ?? "", /byte order mark.*tail -c \+4/);
  // (One fixture keeps the From_ line it was saved with: an mbox of one message.)
  const emls = realMessages("lf").filter((m) => !m.bytes.subarray(0, 5).equals(Buffer.from("From ")));
  assert.ok(emls.length > 100);
  for (const { name, bytes } of emls) assert.match(nonMboxKind(start(bytes)) ?? "", /single message \(\.eml\)/, name);
});

test("not an mbox: bytes that say nothing get no name, and an mbox's own From_ line is none of these", () => {
  assert.equal(nonMboxKind(Buffer.from("hello, world\n")), null);
  assert.equal(nonMboxKind(Buffer.alloc(40)), null);
  assert.equal(nonMboxKind(start(mbox)), null);
  // A byte order mark before anything but a From_ line is not called one.
  assert.equal(nonMboxKind(Buffer.from("\xef\xbb\xbfhello", "latin1")), null);
});

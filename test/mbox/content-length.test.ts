import assert from "node:assert/strict";
import { test } from "node:test";
import { contentLengths, contentLengthsByPattern } from "../../src/mbox/content-length.js";
import { nativeAddon } from "../../src/util/native.js";
import { headerBlock, realMessages } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

// The reader frames by Content-Length where a value lands on a message boundary; every
// Content-Length line counts, in order. The addon's search (native/content-length.c) must
// find exactly the lines the pattern finds.

const same = (block: Buffer, label: string) => assert.deepEqual(contentLengths(block), contentLengthsByPattern(block), `${label}: ${JSON.stringify(block.toString("latin1"))}`);

test("the Content-Length lines of a header: exact name in any case, digits between blanks, a line ended by LF, CR or the block's end", () => {
  assert.ok(nativeAddon(), "the addon is built (npm install)");
  const cases: Array<[string, number[]]> = [
    ["Content-Length: 42\n", [42]],
    ["content-LENGTH:\t 0042 \t\r\n", [42]],
    ["Subject: x\nContent-Length: 7", [7]],
    ["Subject: x\rContent-Length: 7\rX: y\n", [7]],
    ["Content-Length: 12\nContent-Length: 3456\n", [12, 3456]],
    ["X-Content-Length: 5\n", []],
    [" Content-Length: 5\n", []],
    ["Content-Length : 5\n", []],
    ["Content-Length: 5 6\n", []],
    ["Content-Length: 5x\n", []],
    ["Content-Length:\n 5\n", []],
    ["Content-Length: -5\n", []],
    ["Content-Length: 5\r\r\n", [5]],
    ["Content-Length: 1234567890123456\n", [Number.POSITIVE_INFINITY]],
    ["Content-Length: 123456789012345\n", [123456789012345]],
    ["Content-Length: \xa0 5\n", []],
    ["", []],
    [":Content-Length: 5\n", []],
  ];
  for (const [text, expected] of cases) {
    const block = Buffer.from(text, "latin1");
    assert.deepEqual(contentLengths(block), expected, JSON.stringify(text));
    same(block, "case");
  }
  // More lines than the native call has room for: all of them, in order.
  const many = Buffer.from(Array.from({ length: 40 }, (_, i) => `Content-Length: ${i}\n`).join(""));
  assert.deepEqual(contentLengths(many), Array.from({ length: 40 }, (_, i) => i));
});

test("the addon finds the pattern's lines on real headers and on random ones", () => {
  for (const { name, bytes } of [...realMessages("lf"), ...realMessages("crlf")]) same(headerBlock(bytes), name);
  const random = seededRandom(4155);
  const pick = <T>(xs: readonly T[]): T => xs[random(xs.length)];
  const parts = ["Content-Length:", "content-length:", "CONTENT-length:", "Content-Lengths:", "Content-Length", " ", "\t", "\n", "\r", "\r\n", "12", "0", "99999999999999999", ":", "x", "Subject: a", "\xe9", "-"];
  for (let round = 0; round < 20000; round++) {
    const block = Buffer.from(Array.from({ length: random(16) }, () => pick(parts)).join(""), "latin1");
    same(block, `round ${round}`);
  }
});

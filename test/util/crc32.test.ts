import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { test } from "node:test";
import zlib from "node:zlib";
import { crc32 } from "../../src/util/crc32.js";
import { nativeAddon } from "../../src/util/native.js";

// Lengths around the folded path's edges (64 bytes, 16-byte steps, the alignment lead), at
// every alignment, continuing from zero and from other values: each must equal zlib.
const native = nativeAddon();

test("crc32 equals zlib.crc32 at every length, alignment and starting value", () => {
  const data = crypto.randomBytes(70_000);
  const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 78, 79, 80, 95, 127, 128, 129, 1000, 4096, 65_537];
  for (const length of lengths) {
    for (let offset = 0; offset < 16; offset++) {
      const piece = data.subarray(offset, offset + length);
      for (const start of [0, 1, 0xffffffff, zlib.crc32("seed")]) {
        const want = zlib.crc32(piece, start);
        assert.equal(crc32(piece, start), want, `length ${length}, offset ${offset}, from ${start}`);
        // The addon's own function too, whichever path this CPU takes in it.
        if (native) assert.equal(native.crc32(piece, start), want, `native: length ${length}, offset ${offset}, from ${start}`);
      }
    }
  }
});

test("crc32 over a file in pieces equals one pass (the window sums a source piece by piece)", () => {
  const data = crypto.randomBytes(1 << 20);
  let crc = 0;
  for (let at = 0; at < data.length; ) {
    const step = 1 + Math.floor(Math.random() * 100_000);
    crc = crc32(data.subarray(at, at + step), crc);
    at += step;
  }
  assert.equal(crc, zlib.crc32(data));
});

test("the native CRC-32 takes the carry-less multiply path on a CPU that has it", { skip: !native }, () => {
  assert.ok(native);
  const flags = fs.readFileSync("/proc/cpuinfo", "utf8");
  assert.equal(native.crc32Fast, /\bpclmulqdq\b/.test(flags) && /\bsse4_1\b/.test(flags));
});

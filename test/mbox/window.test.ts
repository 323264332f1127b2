import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FileWindow } from "../../src/mbox/window.js";
import { nativeAddon } from "../../src/util/native.js";
import { tempDir } from "../helpers/mbox.js";

// Texts dense in the bytes that matter ("F", spaces, "rom", quotes, newlines) so that near
// misses fall at every offset of the native search's 16- and 64-byte blocks and its tail.
function denseText(random: (n: number) => number, length: number): Buffer {
  const alphabet = Buffer.from("From rom F m>\n xFFrom");
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = alphabet[random(alphabet.length)];
  return out;
}

test("the window's From search finds what Buffer.indexOf finds, from every start", () => {
  let seed = 5;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const file = path.join(tempDir(), "text");
  for (let round = 0; round < 60; round++) {
    const text = denseText(random, 1 + random(400));
    fs.writeFileSync(file, text);
    const fd = fs.openSync(file, "r");
    try {
      const window = new FileWindow(fd, text.length);
      window.load(0, text.length);
      for (let from = 0; from <= text.length; from++) {
        assert.equal(window.indexOfFrom(from), text.indexOf("From ", from), `round ${round}, from ${from}`);
        const to = from + random(text.length - from + 1);
        assert.equal(window.indexOfFrom(from, to), text.subarray(0, to).indexOf("From ", from), `round ${round}, from ${from} to ${to}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
});

test("a window takes no more memory than what is left of its file (down to 4 KB), and a megabyte at most to start with", () => {
  const file = path.join(tempDir(), "small");
  fs.writeFileSync(file, Buffer.alloc(10_000, "x"));
  const fd = fs.openSync(file, "r");
  try {
    const whole = new FileWindow(fd, 10_000);
    assert.equal(whole.buf.length, 10_000);
    whole.load(0, 10_000);
    assert.equal(whole.end, 10_000);
    assert.equal(new FileWindow(fd, 10_000, 9_000).buf.length, 4096);
    assert.equal(new FileWindow(fd, 50 << 20).buf.length, 1 << 20);
  } finally {
    fs.closeSync(fd);
  }
});

test("the native From search stops at the end it is given", { skip: !nativeAddon() }, () => {
  const native = nativeAddon();
  assert.ok(native);
  const text = Buffer.from(`${"x".repeat(200)}From ${"y".repeat(100)}`);
  assert.equal(native.findFrom(text, 0, text.length), 200);
  assert.equal(native.findFrom(text, 0, 205), 200);
  assert.equal(native.findFrom(text, 0, 204), -1, "a From cut by the end is not found");
  assert.equal(native.findFrom(text, 201, text.length), -1);
  assert.equal(native.findFrom(text, 150, 100), -1);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FileWindow } from "../../src/mbox/window.js";
import { nativeAddon } from "../../src/util/native.js";
import { tempDir } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

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

test("the window's blank-line search finds the first \\n\\n or \\n\\r\\n that the two indexOf searches find, from every start to every end", () => {
  assert.ok(nativeAddon(), "the addon is built: the native search is the one tested");
  const random = seededRandom(1310);
  const alphabet = Buffer.from("\n\n\r\r\nab: ");
  const file = path.join(tempDir(), "text");
  const lf = Buffer.from("\n\n");
  const crlf = Buffer.from("\n\r\n");
  for (let round = 0; round < 200; round++) {
    // Long enough runs without a blank line that the 32-byte blocks and their tail both see hits.
    const text = Buffer.alloc(1 + random(300), "x");
    for (let k = random(12); k > 0; k--) text[random(text.length)] = alphabet[random(alphabet.length)];
    if (random(2)) for (let i = 0; i < text.length; i++) if (random(3) === 0) text[i] = alphabet[random(alphabet.length)];
    fs.writeFileSync(file, text);
    const fd = fs.openSync(file, "r");
    try {
      const window = new FileWindow(fd, text.length);
      window.load(0, text.length);
      for (let from = 0; from < text.length; from++) {
        const to = from + 1 + random(text.length - from);
        const within = text.subarray(0, to);
        const l = within.indexOf(lf, from);
        const c = within.subarray(0, l >= 0 ? l + 3 : to).indexOf(crlf, from);
        const expected = c >= 0 && (l < 0 || c < l) ? c + 3 : l >= 0 ? l + 2 : null;
        assert.equal(window.blankLineEnd(from, to), expected, `round ${round}, ${from}-${to}: ${JSON.stringify(text.toString("latin1"))}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
});

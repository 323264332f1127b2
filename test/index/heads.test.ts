import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { headerBlockOf, headerEnd, headerEndByIndexOf, readHeads, readHeadsByFs } from "../../src/index/heads.js";
import { nativeAddon } from "../../src/util/native.js";
import { realMessages } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

// Each case: a file's bytes and the header block the index must read from it.
function cases(): Array<{ name: string; bytes: Buffer; block: Buffer }> {
  const out: Array<{ name: string; bytes: Buffer; block: Buffer }> = [];
  const add = (name: string, bytes: Buffer, blockLength: number) => out.push({ name, bytes, block: bytes.subarray(0, blockLength) });
  for (const kind of ["lf", "crlf"] as const) {
    for (const { name, bytes } of realMessages(kind, 20)) {
      const lf = bytes.indexOf("\n\n");
      const crlf = bytes.indexOf("\r\n\r\n");
      add(`${kind}-${name}`, bytes, lf >= 0 && (crlf < 0 || lf < crlf) ? lf + 1 : crlf + 2);
    }
  }
  // A blank line at every offset around the native reader's 16 KB steps and the JS one's.
  for (const step of [16 * 1024, 32 * 1024]) {
    for (let at = step - 5; at <= step + 3; at++) {
      for (const eol of ["\n", "\r\n"]) {
        const line = `X-Filler: ${"a".repeat(60)}${eol}`;
        let head = `Subject: straddle${eol}`;
        while (head.length < at - line.length - 10) head += line;
        head += `X-Pad: ${"b".repeat(at - head.length - 7 - eol.length)}${eol}`;
        assert.equal(head.length, at);
        const bytes = Buffer.from(`${head}${eol}body${eol}${eol}more${eol}`);
        add(`straddle-${at}-${eol === "\n" ? "lf" : "crlf"}`, bytes, head.length);
      }
    }
  }
  add("empty", Buffer.alloc(0), 0);
  add("no-blank-line", Buffer.from("Subject: x\nFrom: a@b\n"), 21);
  add("body-only", Buffer.from("\n\nhello\n"), 1);
  add("lone-cr-pair", Buffer.from("Subject: x\r\n\r\rmore\n\nbody"), 19);
  add("crlf-then-lf", Buffer.from("A: 1\r\nB: 2\n\nbody\r\n\r\n"), 11);
  add("huge-header", Buffer.from(`X-Big: ${"c".repeat(100 * 1024)}\n\nbody`), 64 * 1024);
  return out;
}

test("readHeads reads each file's header block, size and mtime; the native reader and the fs one agree", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "heads-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "cur"));
  fs.mkdirSync(path.join(dir, "new"));
  const all = cases();
  const names = all.map((c, i) => {
    const name = `${i % 2 ? "cur" : "new"}/${c.name}`;
    fs.writeFileSync(path.join(dir, name), c.bytes);
    fs.utimesSync(path.join(dir, name), 1_000_000 + i, 1_222_333_444.5678 + i);
    return name;
  });
  // A symlink is never followed, a name that went away and a directory fail alone.
  fs.symlinkSync(path.join(dir, names[0]), path.join(dir, "cur", "link"));
  fs.mkdirSync(path.join(dir, "cur", "adir"));
  const failing = ["cur/link", "cur/gone", "cur/adir"];
  const readers: Array<{ label: string; read: typeof readHeads }> = [{ label: "fs", read: readHeadsByFs }];
  if (nativeAddon()) readers.push({ label: "native", read: readHeads });
  assert.ok(process.env.MAILSTORE_NO_NATIVE === "1" || readers.length === 2, "the addon is built: both readers are tested");
  for (const { label, read } of readers) {
    const heads = read(dir, [...names, ...failing]);
    all.forEach((c, i) => {
      const head = heads[i];
      assert.equal(head.failed, false, `${label} ${c.name}`);
      assert.ok(head.block.equals(c.block), `${label} ${c.name}: block of ${head.block.length} bytes, expected ${c.block.length}`);
      assert.equal(head.size, c.bytes.length, `${label} ${c.name}: size`);
      assert.equal(head.received, Math.floor(fs.statSync(path.join(dir, names[i])).mtimeMs), `${label} ${c.name}: mtime`);
    });
    const [link, gone, adir] = heads.slice(all.length);
    assert.deepEqual([link.failed, gone.failed, adir.failed], [true, true, true], label);
    assert.deepEqual([gone.size, gone.received, gone.block.length], [0, 0, 0], label);
    assert.equal(adir.received, Math.floor(fs.statSync(path.join(dir, "cur", "adir")).mtimeMs), `${label}: a directory is stat'ed before its read fails`);
  }
  for (const { label, read } of readers) {
    assert.deepEqual(read(path.join(dir, "nope"), ["cur/x", "new/y"]).map((h) => h.failed), [true, true], `${label}: a folder that is gone`);
  }
});

test("headerBlockOf gives the block readHeads reads, however the message's bytes are cut into pieces", () => {
  for (const c of cases()) {
    const end = c.block.length;
    // Cuts around the block's end (where the first piece may end mid blank line), at the
    // start, and in three pieces; the body-only and empty cases are cut everywhere.
    const at = new Set([0, 1, 2, end - 3, end - 2, end - 1, end, end + 1, end + 2, end + 3, Math.floor(end / 2), c.bytes.length]);
    if (c.bytes.length < 64) for (let k = 0; k <= c.bytes.length; k++) at.add(k);
    for (const k of at) {
      if (k < 0 || k > c.bytes.length) continue;
      const splits = [[c.bytes.subarray(0, k), c.bytes.subarray(k)], [c.bytes.subarray(0, k), c.bytes.subarray(k, k + 2), c.bytes.subarray(k + 2)]];
      for (const pieces of splits) {
        const block = headerBlockOf(pieces.filter((p, i) => i === 0 || p.length > 0));
        assert.ok(block.equals(c.block), `${c.name} cut at ${k} into ${pieces.length}: ${block.length} bytes, expected ${end}`);
      }
    }
    assert.ok(headerBlockOf([c.bytes]).equals(c.block), c.name);
  }
});

test("the native header end is the one Buffer.indexOf finds: the first \\n\\n, or a \\r\\n\\r\\n before it", () => {
  assert.ok(nativeAddon(), "the addon is built: the native search is the one tested");
  const random = seededRandom(822);
  const alphabet = Buffer.from("\n\n\r\r\nab: ");
  for (let round = 0; round < 20000; round++) {
    const view = Buffer.alloc(random(200), "x");
    for (let k = random(12); k > 0; k--) view[random(view.length)] = alphabet[random(alphabet.length)];
    if (random(2)) for (let i = 0; i < view.length; i++) if (random(3) === 0) view[i] = alphabet[random(alphabet.length)];
    assert.equal(headerEnd(view), headerEndByIndexOf(view), JSON.stringify(view.toString("latin1")));
  }
  for (const c of cases()) assert.equal(headerEnd(c.bytes), headerEndByIndexOf(c.bytes), c.name);
});

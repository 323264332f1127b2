import assert from "node:assert/strict";
import { test } from "node:test";
import { Unquoter, type Unquoting } from "../../src/mbox/unquote.js";

function run(mode: Unquoting, input: string, splitEvery?: number): string {
  const u = new Unquoter(mode);
  const out: Buffer[] = [];
  const buf = Buffer.from(input, "latin1");
  const step = splitEvery ?? buf.length;
  for (let i = 0; i < buf.length; i += step) for (const c of u.transform(buf.subarray(i, i + step))) out.push(Buffer.from(c));
  for (const c of u.flush()) out.push(Buffer.from(c));
  return Buffer.concat(out).toString("latin1");
}

const TEXT = ">From a\nx >From b\n>>From c\n>>>From d\n> From e\n>Fro\n>";

test("mboxrd takes one > off every >+From line", () => {
  assert.equal(run("mboxrd", TEXT), "From a\nx >From b\n>From c\n>>From d\n> From e\n>Fro\n>");
});

test("mboxo unquotes only >From", () => {
  assert.equal(run("mboxo", TEXT), "From a\nx >From b\n>>From c\n>>>From d\n> From e\n>Fro\n>");
});

test("none leaves everything", () => {
  assert.equal(run("none", TEXT), TEXT);
});

test("the same result whatever the chunk boundaries", () => {
  const expected = run("mboxrd", TEXT);
  for (let n = 1; n <= 8; n++) assert.equal(run("mboxrd", TEXT, n), expected, `chunks of ${n}`);
  const crlf = TEXT.replace(/\n/g, "\r\n");
  for (let n = 1; n <= 5; n++) assert.equal(run("mboxrd", crlf, n), run("mboxrd", crlf));
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Unquoter, type Unquoting } from "../../src/mbox/unquote.js";
import { unquotedByLines as reference } from "../helpers/mbox.js";

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


test("random texts and chunkings agree with the line-by-line rule", () => {
  // Deterministic pseudo-random texts made of the characters that matter (quotes, From, line ends).
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = [">", ">>", "From ", "Fro", "m ", "\n", "\r\n", "x", " ", ">From ", "\n>From "];
  for (let i = 0; i < 400; i++) {
    let text = "";
    const length = 1 + random(30);
    for (let j = 0; j < length; j++) text += pieces[random(pieces.length)];
    for (const mode of ["mboxrd", "mboxo"] as const) {
      const expected = reference(mode, text);
      assert.equal(run(mode, text), expected, `${mode} ${JSON.stringify(text)}`);
      const n = 1 + random(7);
      assert.equal(run(mode, text, n), expected, `${mode} chunks of ${n} ${JSON.stringify(text)}`);
    }
  }
});

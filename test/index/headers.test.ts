import assert from "node:assert/strict";
import { test } from "node:test";
import { simpleParser } from "mailparser";
import { parseHeaders } from "../../src/index/headers.js";
import { realMessages } from "../helpers/mbox.js";

// The oracle is mailparser's full parser on the whole message; the index reads the header
// block alone and must decode the same text from it.
const headerBlock = (msg: Buffer) => {
  const lf = msg.indexOf("\n\n");
  const crlf = msg.indexOf("\r\n\r\n");
  const end = lf >= 0 && (crlf < 0 || lf < crlf) ? lf + 1 : crlf >= 0 ? crlf + 2 : msg.length;
  return msg.subarray(0, end);
};
const norm = (s: string | undefined) => (s ?? "").replace(/\s+/g, " ").trim();

test("header-only decoding matches mailparser on every real fixture message (many charsets)", async () => {
  const messages = [...realMessages("lf"), ...realMessages("crlf")];
  let nonAscii = 0;
  for (const { name, bytes } of messages) {
    const ours = parseHeaders(headerBlock(bytes));
    const full = await simpleParser(bytes, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
    assert.equal(ours.subject, norm(full.subject), `${name}: subject`);
    const from = Array.isArray(full.from) ? full.from[0] : full.from;
    assert.equal(ours.from, norm(from?.text), `${name}: from`);
    assert.equal(ours.messageId, full.messageId ?? "", `${name}: message-id`);
    if (full.date && !Number.isNaN(full.date.getTime()) && ours.date !== null) assert.equal(ours.date, full.date.getTime(), `${name}: date`);
    if (/[^\x00-\x7f]/.test(ours.subject)) nonAscii++;
  }
  assert.ok(nonAscii >= 5, `only ${nonAscii} subjects decoded to non-ASCII text: the fixtures should exercise charsets`);
});

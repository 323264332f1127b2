import assert from "node:assert/strict";
import { test } from "node:test";
import { simpleParser } from "mailparser";
import { addressText, addressTextByParser, parseHeaders } from "../../src/index/headers.js";
import { headerFields } from "../../src/util/rfc5322.js";
import { ADDRESS_SHAPES } from "../helpers/address-shapes.js";
import { headerBlock, realMessages } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

// The oracle is mailparser's full parser on the whole message; the index reads the header
// block alone and must decode the same text from it.
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

test("the fast path for plain address headers gives mailparser's text exactly", () => {
  const fromFixtures = [...realMessages("lf"), ...realMessages("crlf")].flatMap(({ bytes }) => {
    const f = headerFields(headerBlock(bytes).toString("latin1"), ["from", "to", "cc"]);
    return ["from", "to", "cc"].map((k) => f.get(k)).filter((v): v is string => v !== undefined);
  });
  for (const value of [...ADDRESS_SHAPES, ...fromFixtures]) assert.equal(addressText(value), addressTextByParser(value), JSON.stringify(value));
});

test("addresses without a domain: the fast path gives mailparser's text on random shapes", () => {
  const random = seededRandom(11);
  const words = ["postmaster", "POSTMASTER", "MAILER-DAEMON", "Mail", "Delivery", "O'Brien", "1st", "J.", "a.b", ".x", "x.", "a..b", ".", "!#$%", "&'*+/", "=?^_", "`{|}~", "-", "q"];
  const gaps = [" ", "  ", "\t", ""];
  const pick = <T>(xs: T[]) => xs[random(xs.length)];
  for (let i = 0; i < 8000; i++) {
    const name = Array.from({ length: random(4) }, () => pick(words)).join(pick(gaps.slice(0, 3)));
    const local = random(4) === 0 ? "" : pick(words) + (random(3) === 0 ? pick(words) : "");
    const shape = [local, `<${local}>`, `${name} <${local}>`, `${name}${pick(gaps)}<${local}>`][random(4)];
    const value = `${pick([" ", ""])}${shape}${pick([" ", ""])}`;
    assert.equal(addressText(value), addressTextByParser(value), JSON.stringify(value));
  }
});

test("the fast word decoder gives libmime's text exactly", async () => {
  const { createRequire } = await import("node:module");
  const { fastWordDecoder, libmimeJapanese } = await import("../../src/index/headers.js");
  const libmime = createRequire(import.meta.url)("libmime");
  const fast = fastWordDecoder(libmime, libmimeJapanese());
  const crafted = [
    "=?us-ascii?Q?Re=3A_the_plan?=",
    "=?US-ASCII?B?SGVsbG8gd29ybGQ=?=",
    "=?iso-8859-1?Q?caf=E9?= au lait",
    "=?ISO-8859-1?Q?plain?= =?ISO-8859-1?Q?_words?=",
    "=?iso-8859-15?Q?=A4uro?=",
    "=?iso-8859-15?Q?only_ascii?=",
    "=?windows-1252?Q?=80_and_=9F?=",
    "=?windows-1252?B?gA==?=",
    "=?us-ascii?Q?bytes_=E9=80_over_7f?=",
    "=?us-ascii*en?Q?language_tag?=",
    "=?iso-8859-1?q?lower=5Fcase?= =?utf-8?b?w6k=?=",
    "=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=",
    "=?utf-8?Q?split_=C3?= =?utf-8?Q?=A9?=",
    "=?us-ascii?Q?a?==?us-ascii?Q?b?=",
    "=?ISO-2022-JP?B?GyRCJCIbKEI=?=",
    "=?iso-2022-jp?b?GyRCJCIbKEI=?= =?iso-2022-jp?B?GyRCJCQbKEI=?=",
    "=?iso-2022-jp?B?GyRCJCI=?= =?iso-2022-jp?B?GyhC?=",
    "=?ISO-2022-JP?Q?=1B$B$\"=1B(B?=",
    "=?iso-2022-jp*ja?B?GyRCJCIbKEI=?=",
    "=?ISO-2022-JP-2?B?GyRCJCIbKEI=?=",
    "=?iso2022jp?B?GyRCJCIbKEI=?=",
    "=?JIS?B?GyRCJCIbKEI=?=",
    "=?csISO2022JP?B?GyRCJCIbKEI=?=",
    "=?EUC-JP?B?pKI=?=",
    "=?eucjp?B?pKI=?=",
    "=?ISO-2022-JP?B?gIGCg+k=?=",
    "=?ISO-2022-JP?B?not*base64?=",
    "=?ISO-2022-JP?B??=",
    "=?iso-2022-jp?B?GyRCJCIbKEI=?= =?utf-8?B?w6k=?= =?iso-2022-jp?B?GyRCJCQbKEI=?=",
    "=?utf-7?Q?+ADw-x+AD4-?=",
    "=?x-unknown?Q?ascii?=",
    "=?us-ascii?B?not*base64?=",
    "=?us-ascii?Q?=?=",
    "=?iso-8859-1?Q?=4?=",
    "before =?us-ascii?Q?middle?= after",
  ];
  for (const value of crafted) assert.equal(fast(value), libmime.decodeWords(value), value);
  // And every encoded word in the real fixtures' header blocks.
  let words = 0;
  for (const { name, bytes } of [...realMessages("lf"), ...realMessages("crlf")]) {
    const fields = headerFields(headerBlock(bytes).toString("latin1"), ["subject", "from", "to", "cc"]);
    for (const value of fields.values()) {
      if (!value.includes("=?")) continue;
      words++;
      assert.equal(fast(value), libmime.decodeWords(value), `${name}: ${value}`);
    }
  }
  assert.ok(words >= 20, `only ${words} encoded header values in the fixtures`);
});

test("headerFields finds names however they are spaced or cased, first value wins, folded values joined", () => {
  const block = [
    "Received: from x by y",
    "SUBJECT  : first",
    "\tcontinued",
    "Subject: second",
    "X-Long-Header-Name-Of-Forty-Characters-Or-So: long",
    "From\t: a@example.org",
    "\fDate\u000b: Thu, 18 Sep 2008 17:04:04 +0000",
    "Reply-To: not-to@example.org",
    "To: to@example.org",
    "",
    "Cc: body@example.org",
  ].join("\r\n");
  const f = headerFields(block, ["subject", "from", "date", "to", "cc", "x-long-header-name-of-forty-characters-or-so"]);
  assert.equal(f.get("subject"), "first continued");
  assert.equal(f.get("from"), "a@example.org");
  assert.equal(f.get("date"), "Thu, 18 Sep 2008 17:04:04 +0000");
  assert.equal(f.get("to"), "to@example.org");
  assert.equal(f.get("x-long-header-name-of-forty-characters-or-so"), "long");
  assert.equal(f.has("cc"), false, "the body is not the header");
});

test("headerFields agrees with a line-by-line reading on random header blocks", () => {
  // The reference: split into lines, one CR dropped before each LF, stop at the first empty
  // line; a line that starts with a blank or tab continues the field above it.
  const reference = (header: string, wanted: string[]) => {
    const found = new Map<string, string>();
    const lines = header.split("\n").map((l) => l.replace(/\r$/, ""));
    for (let i = 0; i < lines.length && lines[i] !== ""; i++) {
      const line = lines[i];
      if (line[0] === " " || line[0] === "\t") continue;
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!wanted.includes(name) || found.has(name)) continue;
      let value = line.slice(colon + 1);
      while (i + 1 < lines.length && (lines[i + 1][0] === " " || lines[i + 1][0] === "\t")) value += ` ${lines[++i].trim()}`;
      found.set(name, value.trim());
    }
    return found;
  };
  const names = ["Subject", "SUBJECT", "subject", "From", "To", "Cc", "Date", "Received", "X-To", "Tox", "Message-ID", "\fDate", "Date\u000b", "\u00a0To", "Subjec"];
  const values = ["", " x", "\ty", " a:b", "=?utf-8?q?z?=", " "];
  const glue = [":", " :", "\t:", "", ": "];
  let seed = 9;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const wanted = ["subject", "from", "to", "cc", "date", "message-id"];
  for (let round = 0; round < 2000; round++) {
    const lines: string[] = [];
    for (let k = random(8); k >= 0; k--) {
      lines.push(`${names[random(names.length)]}${glue[random(glue.length)]}${values[random(values.length)]}`);
      if (random(3) === 0) lines.push(`${random(2) ? " " : "\t"}cont${random(9)}`);
    }
    if (random(4) === 0) lines.splice(random(lines.length + 1), 0, "");
    const block = lines.join(random(2) ? "\r\n" : "\n");
    assert.deepEqual(headerFields(block, wanted), reference(block, wanted), JSON.stringify(block));
  }
});

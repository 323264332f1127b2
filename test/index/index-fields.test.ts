import assert from "node:assert/strict";
import { test } from "node:test";
import { parseHeaders, parseHeadersInJs } from "../../src/index/headers.js";
import { nativeAddon } from "../../src/util/native.js";
import { ADDRESS_SHAPES } from "../helpers/address-shapes.js";
import { headerBlock, realMessages } from "../helpers/mbox.js";
import { seededRandom } from "../helpers/random.js";

// native/index-fields.c makes most of the index's fields; parseHeadersInJs is the definition
// it must meet exactly, field by field, whatever the block holds.

const addon = nativeAddon();

const same = (block: Buffer, label: string) => assert.deepEqual(parseHeaders(block), parseHeadersInJs(block), `${label}: ${JSON.stringify(block.toString("latin1"))}`);

test("the native fields are the JavaScript parse's on every real fixture, and most are made natively", () => {
  assert.ok(addon, "the addon is built (npm install)");
  let fields = 0;
  let native = 0;
  const out: unknown[] = [];
  for (const { name, bytes } of [...realMessages("lf"), ...realMessages("crlf")]) {
    const block = headerBlock(bytes);
    same(block, name);
    const done = addon.indexFields(block, out);
    for (let k = 0; k < 8; k++, fields++) if (done & (1 << k)) native++;
  }
  // Encoded words and the rarer address shapes are left to JavaScript; the rest is not.
  assert.ok(native / fields > 0.9, `only ${native} of ${fields} fields made natively`);
});

test("a Date in RFC 5322's shape is read natively, comments and all; other shapes go to Date.parse", () => {
  assert.ok(addon);
  const out: unknown[] = [];
  const date = (value: string) => {
    const block = Buffer.from(`Date: ${value}\n\n`);
    const done = addon.indexFields(block, out);
    same(block, value);
    return { native: (done & 1) === 1, ms: parseHeaders(block).date };
  };
  assert.deepEqual(date("Thu, 18 Sep 2008 17:00:04 +0200 (CEST)"), { native: true, ms: Date.UTC(2008, 8, 18, 15, 0, 4) });
  assert.deepEqual(date("8 sep 1969 23:59 -0130"), { native: true, ms: Date.UTC(1969, 8, 9, 1, 29) });
  assert.deepEqual(date("29 Feb 2000 00:00:00 +0000"), { native: true, ms: Date.UTC(2000, 1, 29) });
  // Date.parse's own rules: a day past the month's end rolls over; a year 0049 is 2049.
  assert.deepEqual(date("29 Feb 2100 00:00:00 +0000"), { native: false, ms: Date.UTC(2100, 2, 1) });
  assert.deepEqual(date("18 Sep 0049 10:00:00 +0000"), { native: false, ms: Date.UTC(2049, 8, 18, 10) });
  assert.equal(date("Thu, 18 Sep 2008 17:00:04 GMT").native, false);
  assert.equal(date("not a date").ms, null);
});

test("every address shape gives the JavaScript parse's text", () => {
  for (const value of ADDRESS_SHAPES) {
    same(Buffer.from(`From: ${value}\nTo: ${value}\nCc: ${value}\n\n`, "latin1"), "address");
    same(Buffer.from(`From: ${value}\r\nTo: x@example.org,\r\n ${value}\r\n\r\n`, "latin1"), "folded address");
  }
});

test("the native fields are the JavaScript parse's on random header blocks (dates, addresses, 8-bit text, whitespace)", () => {
  const random = seededRandom(2026);
  const pick = <T>(xs: readonly T[]): T => xs[random(xs.length)];
  const two = (n: number) => String(n).padStart(2, "0");
  const dayNames = ["Mon, ", "Thu, ", "Sun,", "thu, ", "Xyz, ", "Thu ", "", "", ""];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "sep", "DEC", "Sept", "Foo"];
  const zones = () => pick([`${pick(["+", "-"])}${two(random(26))}${two(random(62))}`, "GMT", "UT", "EST", "+02", "", "Z", "+0000 (UTC)", "+0100 (CET"]);
  const date = () => {
    const day = pick([String(1 + random(31)), two(random(33)), "0", "32"]);
    const year = pick([String(1900 + random(250)), "0049", "999", "49", "20081", String(1000 + random(9000))]);
    const time = pick([`${two(random(25))}:${two(random(61))}:${two(random(62))}`, `${two(random(24))}:${two(random(60))}`, `${random(24)}:${two(random(60))}:00`, "12:00:00.5"]);
    const gap = () => pick([" ", " ", "  ", "\t"]);
    return `${pick(dayNames)}${day}${gap()}${pick(months)}${gap()}${year}${gap()}${time}${gap()}${zones()}${pick(["", "", " (CEST)", "(x) ", " (a)(b)"])}`;
  };
  const words = ["hello", "Re:", "caf\u00e9", "\u65e5\u672c", "a\u00a0b", "x\u2003y", "\ufeff", "=?utf-8?q?w=C3=A9?=", "\u00ff", "tab\there", "v\u000bf\u000c", "cr\rlf", "  ", "(c)", "\"q\"", "<id@x>"];
  const text = () => Array.from({ length: random(5) }, () => pick(words)).join(pick([" ", "  ", "\t", ""]));
  const locals = ["alice", "b.c+tag", "MAILER-DAEMON", "postmaster", "a..b", "x!#$%&'*+/=?^_`{|}~-", ""];
  const domains = ["example.org", "mx.example.co.jp", "xn--bcher-kva.example", "b", "-x-.y", "a..b", "example.org."];
  const names = ["Alice Example", "O'Brien", "J. Smith", "Dr. Who", ".hidden", "x.", "a  b", "1st", "Caf\u00e9", "=?utf-8?q?A?="];
  const address = () => {
    const addr = `${pick(locals)}@${pick(domains)}`;
    const name = pick(names);
    return pick([addr, `<${addr}>`, `${name} <${addr}>`, `"${name}" <${addr}>`, `${addr} (${name})`, `${name}\t<${addr}>`, pick(ADDRESS_SHAPES), `${pick(locals)}`, `${name} <${pick(locals)}>`, `"${name}, x" <${addr}>`]);
  };
  const addresses = () => Array.from({ length: 1 + random(3) }, address).join(pick([", ", ",", " , ", ",\n "]));
  const types = ["text/plain", "TEXT/HTML; charset=utf-8", "multipart/MIXED; boundary=x", "Multipart/Alternative", "multipart/related", "multipart/report", "application/pdf", "\u00a0multipart/mixed", "mult\u0130part/mixed", "", " "];
  const dispositions = ["attachment; filename=x", "ATTACHMENT", "inline", "\u00a0attachment", ""];
  const ids = () => Array.from({ length: random(4) }, () => `<${random(1e6)}.${pick(["x", "y\u00e9"])}@example.org>`).join(pick([" ", "\n\t", "  ", "\r\n "]));
  const fields: Array<[string, () => string]> = [
    ["Date", date],
    ["From", addresses],
    ["To", addresses],
    ["Cc", addresses],
    ["Subject", text],
    ["Message-ID", ids],
    ["In-Reply-To", ids],
    ["References", ids],
    ["Content-Type", () => pick(types)],
    ["Content-Disposition", () => pick(dispositions)],
    ["Received", () => "from x by y; Thu, 18 Sep 2008 17:00:04 +0200"],
  ];
  const fold = (value: string) => (random(6) === 0 ? value.replace(" ", pick(["\n ", "\n\t", "\n  \t "])) : value);
  for (let round = 0; round < 6000; round++) {
    const eol = random(3) === 0 ? "\r\n" : "\n";
    const lines: string[] = [];
    for (let k = 2 + random(12); k > 0; k--) {
      const [name, value] = pick(fields);
      const spelled = pick([name, name.toUpperCase(), name.toLowerCase(), `${name} `]);
      lines.push(`${spelled}:${pick([" ", "", "  "])}${fold(value())}`);
    }
    const joined = `${lines.join("\n").replace(/\n/g, eol)}${eol}${eol}`;
    // As UTF-8, or (one block in four) as Latin-1: invalid UTF-8 where it holds 8-bit text.
    const block = random(4) === 0 ? Buffer.from(joined.replace(/[^\x00-\xff]/g, "?"), "latin1") : Buffer.from(joined);
    same(block, `round ${round}`);
  }
});

test("encoded words in subjects and display names decode as libmime decodes them, adjacent words joined, on random words", () => {
  assert.ok(addon);
  const random = seededRandom(47);
  const pick = <T>(xs: readonly T[]): T => xs[random(xs.length)];
  const charsets = ["utf-8", "UTF-8", "us-ascii", "US-ASCII", "iso-8859-1", "ISO-8859-1", "iso-8859-15", "ISO-8859-15", "windows-1252", "Windows-1252", "utf8", "utf-8*en", "x-unknown", "iso-2022-jp", "ISO-2022-JP", "iso-2022-jp*ja", "ISO-2022-JP-2"];
  const texts = ["caf\u00e9", "\u20ac\u0160\u0161\u017d\u017e\u0152\u0153\u0178\u00a4", "\u65e5\u672c\u8a9e", "plain", "a b_c", "\u00a0nbsp", "\ufeffbom", "\u20ac", "x?y", "=", ""];
  const bytesOf = (charset: string) => {
    if (/2022/.test(charset)) return jisBytes(random);
    const text = pick(texts);
    if (random(6) === 0) return Buffer.from(Array.from({ length: 1 + random(6) }, () => random(256)));
    return /8859|ascii/i.test(charset) ? Buffer.from(text.replace(/[^\x00-\xff]/g, "?"), "latin1") : Buffer.from(text);
  };
  const q = (bytes: Buffer) => [...bytes].map((b) => (b === 0x20 && random(2) ? "_" : b > 0x20 && b < 0x7f && b !== 0x3d && b !== 0x3f && b !== 0x5f ? String.fromCharCode(b) : `=${b.toString(16).padStart(2, "0")}`)).join("");
  const word = () => {
    const charset = pick(charsets);
    const bytes = bytesOf(charset);
    // A character split across two words of one charset, as mail clients split long subjects.
    const cut = random(3) === 0 && bytes.length > 1 ? 1 + random(bytes.length - 1) : bytes.length;
    const encode = (part: Buffer) => {
      if (random(2)) {
        const b64 = part.toString("base64");
        return `=?${charset}?${pick(["B", "b"])}?${pick([b64, b64, b64.replace(/=+$/, ""), b64.slice(1), `${b64}=`])}?=`;
      }
      const text = q(part);
      return `=?${charset}?${pick(["Q", "q"])}?${pick([text, text, `${text}=`, `${text}=4`, text.replace(/=/g, "= ")])}?=`;
    };
    return cut < bytes.length ? `${encode(bytes.subarray(0, cut))}${pick(["", " ", "\n "])}${encode(bytes.subarray(cut))}` : encode(bytes);
  };
  const gaps = ["", " ", "  ", "\t", " - ", "x", "\u00a0", " =? ", "?="];
  for (let round = 0; round < 5000; round++) {
    const parts = [random(3) ? "" : pick(["Re: ", "[list] ", "Fwd:"])];
    for (let k = 1 + random(4); k > 0; k--) parts.push(word(), pick(gaps));
    const subject = parts.join("").replace(/\n(?! )/g, " ");
    const block = random(5) === 0 ? Buffer.from(`Subject: ${subject.replace(/[^\x00-\xff]/g, "?")}\n\n`, "latin1") : Buffer.from(`Subject: ${subject}\n\n`);
    same(block, `round ${round}`);
    // The same words as a display name, quoted or not, before an address (or not quite so).
    const [open, close] = random(3) ? pick([['"', '"'], ["", ""]]) : [pick(['"', ""]), pick(['"', "", '"x', "x"])];
    const name = Array.from({ length: 1 + random(3) }, word).join(pick([" ", "\t", "  ", ""]));
    const address = `${open}${name}${close}${pick([" ", "", "\t"])}<${pick(["a@example.org", "b.c@xn--bcher-kva.example", "=?x@y.z", "bad"])}>${pick(["", " ", ", c@d.e"])}`;
    same(Buffer.from(`From: ${address}\nTo: ${address}\n\n`), `round ${round}`);
  }
  // Plain words of the common charsets are decoded natively, a character split across two
  // words of one charset included (joined before decoding, as libmime joins them).
  const out: unknown[] = [];
  const natively = (s: string) => (addon.indexFields(Buffer.from(`Subject: ${s}\n\n`), out) & 16 ? out[4] : null);
  assert.equal(natively("=?utf-8?B?w6k=?= =?UTF-8?Q?t=C3=A9?="), "\u00e9t\u00e9");
  assert.equal(natively("=?iso-8859-1?q?caf=E9?= au lait"), "caf\u00e9 au lait");
  assert.equal(natively("Re: =?us-ascii?Q?the_plan?="), "Re: the plan");
  assert.equal(natively("=?utf-8?Q?caf=C3?=\n =?utf-8?Q?=A9?="), "caf\u00e9");
  assert.equal(natively("=?ISO-8859-15?Q?=A4uro_=BD?="), "\u20acuro \u0153");
  assert.equal(natively("=?windows-1252?Q?=E9t=E9?="), "\u00e9t\u00e9");
  assert.equal(natively("=?iso-2022-jp?B?GyRCJEgkJBsoQg==?= =?ISO-2022-JP?B?GyhKYWJjGyRAJCIbKEI=?="), "\u3068\u3044abc\u3042");
  const from = (s: string) => (addon.indexFields(Buffer.from(`From: ${s}\n\n`), out) & 2 ? out[1] : null);
  assert.equal(from("=?UTF-8?Q?J=C3=B6rg_=22JJ=22?= <j@example.de>"), '"J\u00f6rg \\"JJ\\"" <j@example.de>');
  assert.equal(from('"=?iso-8859-1?Q?Ren=E9?=\t=?iso-8859-1?Q?_Dupont?=" <r@example.fr>'), '"Ren\u00e9 Dupont" <r@example.fr>');
});

/**
 * ISO-2022-JP as mail clients write it, and as they should not: runs of JIS X 0208 codes
 * (kana, kanji, codes no table maps) between escapes, ASCII and JIS-Roman runs, and now and
 * then half-width katakana, JIS X 0212, an unknown or cut escape, a cut code or an 8-bit byte.
 */
function jisBytes(random: (n: number) => number): Buffer {
  const out: number[] = [];
  const ESC = 0x1b;
  for (let k = 1 + random(4); k > 0; k--) {
    const kind = random(12);
    if (kind < 5) {
      out.push(ESC, 0x24, random(4) ? 0x42 : 0x40);
      const rows = [0x24, 0x25, 0x30, 0x3b, 0x46, 0x21, 0x2d, 0x29, 0x74, 0x7e];
      for (let c = 1 + random(4); c > 0; c--) out.push(rows[random(rows.length)], 0x21 + random(94));
      if (random(10) === 0) out.push(0x21 + random(94));
      if (random(2)) out.push(ESC, 0x28, 0x42);
    } else if (kind < 8) {
      if (random(2)) out.push(ESC, 0x28, random(3) ? 0x42 : 0x4a);
      for (let c = 1 + random(5); c > 0; c--) out.push(0x20 + random(95));
    } else if (kind === 8) out.push(ESC, 0x28, 0x49, 0x21 + random(60));
    else if (kind === 9) out.push(ESC, 0x24, 0x28, 0x44, 0x30, 0x21 + random(94));
    else if (kind === 10) out.push(...[[ESC], [ESC, 0x24], [ESC, 0x2e, 0x41], [ESC, 0x24, 0x42, 0x0a, 0x30]][random(4)]);
    else out.push(0x80 + random(128));
  }
  return Buffer.from(out);
}

test("every two-byte code of ISO-2022-JP decodes natively as libmime decodes it, or is left to it", () => {
  assert.ok(addon);
  const out: unknown[] = [];
  let natively = 0;
  for (let first = 0x21; first <= 0x7e; first++) {
    for (let second = 0x21; second <= 0x7e; second++) {
      const word = `=?iso-2022-jp?B?${Buffer.from([0x1b, 0x24, 0x42, first, second, 0x1b, 0x28, 0x42]).toString("base64")}?=`;
      const block = Buffer.from(`Subject: ${word}\n\n`);
      same(block, `code ${first.toString(16)}${second.toString(16)}`);
      if (addon.indexFields(block, out) & 16) natively++;
    }
  }
  // JIS X 0208 and the NEC and IBM rows encoding-japanese maps; the rest it makes "?".
  assert.ok(natively > 7000, `only ${natively} codes decoded natively`);
});

test("ISO-2022-JP words decode natively as libmime decodes them, on random words and on the fixtures' subjects", () => {
  assert.ok(addon);
  const random = seededRandom(2022);
  const out: unknown[] = [];
  let natively = 0;
  for (let round = 0; round < 4000; round++) {
    const bytes = jisBytes(random);
    const cut = random(3) === 0 && bytes.length > 1 ? 1 + random(bytes.length - 1) : bytes.length;
    const encode = (part: Buffer) => (random(2) ? `=?ISO-2022-JP?B?${part.toString("base64")}?=` : `=?iso-2022-jp?Q?${[...part].map((b) => `=${b.toString(16).padStart(2, "0")}`).join("")}?=`);
    const words = cut < bytes.length ? `${encode(bytes.subarray(0, cut))} ${encode(bytes.subarray(cut))}` : encode(bytes);
    const block = Buffer.from(`Subject: Re: ${words}\nFrom: ${words} <a@example.org>\n\n`);
    same(block, `round ${round}`);
    if (addon.indexFields(block, out) & 16) natively++;
  }
  // Most rounds hold something left to libmime; enough do not for the native decoding to be held to it.
  assert.ok(natively > 400 && natively < 4000, `${natively} of 4,000 subjects decoded natively`);
  // The fixtures' Japanese subjects: decoded natively but where a word is not cleanly formed
  // (base64 padded mid-run, which libmime's joining reads its own way).
  const fixtures = { japanese: 0, natively: 0 };
  for (const { bytes } of realMessages("lf")) {
    const block = headerBlock(bytes);
    if (!/^Subject:.*=\?iso-2022-jp\?/im.test(block.toString("latin1"))) continue;
    fixtures.japanese++;
    if (addon.indexFields(block, out) & 16) fixtures.natively++;
  }
  assert.ok(fixtures.natively > 0 && fixtures.natively >= fixtures.japanese - 2, JSON.stringify(fixtures));
});

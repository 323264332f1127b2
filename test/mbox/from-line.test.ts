import assert from "node:assert/strict";
import { test } from "node:test";
import { isHeaderLine, parseEnvelopeDate, parseEnvelopeDateByPattern, parseFromLine } from "../../src/mbox/from-line.js";

test("asctime with a padded day, UTC zone after the year", () => {
  const env = parseFromLine("From alice@example.org Mon Jan  1 12:34:56 2001 +0000");
  assert.equal(env?.sender, "alice@example.org");
  assert.equal(env?.date?.toISOString(), "2001-01-01T12:34:56.000Z");
});

test("numeric zone after the year is applied", () => {
  assert.equal(parseFromLine("From a@b Wed Mar 5 06:28:13 2009 +0100")?.date?.toISOString(), "2009-03-05T05:28:13.000Z");
});

test("Google Takeout puts the zone before the year", () => {
  const env = parseFromLine("From 1234567890123456789@xxx Tue Sep 03 12:34:56 +0000 2002\n");
  assert.equal(env?.date?.toISOString(), "2002-09-03T12:34:56.000Z");
});

test("MAILER-DAEMON senders, Thunderbird's '-' and CRLF endings", () => {
  assert.equal(parseFromLine("From MAILER-DAEMON Thu Sep 18 17:54:04 2008\r\n")?.sender, "MAILER-DAEMON");
  assert.equal(parseFromLine("From - Thu Sep 18 17:54:04 2008")?.sender, "-");
});

test("a zone-less date is local time", () => {
  const env = parseFromLine("From x@y Thu Sep 18 17:54:04 2008");
  assert.equal(env?.date?.getTime(), new Date(2008, 8, 18, 17, 54, 4).getTime());
});

test("zone names written by old mailers", () => {
  assert.equal(parseFromLine("From x@y Sat Jan  3 01:05:34 PST 1996")?.date?.toISOString(), "1996-01-03T09:05:34.000Z");
});

test("lines that are not From_ lines", () => {
  assert.equal(parseFromLine("From here on, we talk about mail."), null);
  assert.equal(parseFromLine("From: alice@example.org"), null);
  assert.equal(parseFromLine(">From x@y Mon Jan  1 12:34:56 2001"), null);
  assert.equal(parseFromLine("From x@y"), null);
});

test("header lines", () => {
  assert.ok(isHeaderLine("Received: from x"));
  assert.ok(isHeaderLine("X-Foo:bar"));
  assert.ok(!isHeaderLine("Hello world: not a field"));
  assert.ok(!isHeaderLine(""));
});

test("header lines: random lines, as strings and as bytes, agree with the rule's pattern", () => {
  const rule = /^(?:[\x21-\x39\x3b-\x7e]+[ \t]*:|>*From )/;
  const pieces = ["From ", "From", ">", ":", " ", "\t", "X-Foo", "a", "\n", "\x00", "\x7f", "\xe9", "rom ", "F", "Received"];
  let seed = 3;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    let line = "";
    for (let j = random(6); j >= 0; j--) line += pieces[random(pieces.length)];
    assert.equal(isHeaderLine(line), rule.test(line), JSON.stringify(line));
    assert.equal(isHeaderLine(Buffer.from(line, "latin1")), rule.test(line), `bytes ${JSON.stringify(line)}`);
  }
});

test("the asctime read by position agrees with the patterns, on that form and on near misses", () => {
  const same = (text: string) => {
    const fast = parseEnvelopeDate(text);
    const slow = parseEnvelopeDateByPattern(text);
    assert.equal(fast === undefined ? "undefined" : fast === null ? "null" : fast.getTime(), slow === undefined ? "undefined" : slow === null ? "null" : slow.getTime(), JSON.stringify(text));
  };
  const bases = ["Thu Sep 18 17:54:04 2008", "Mon Dec  8 11:04:57 2008", "Sun Feb 29 23:59:60 2004", "Sat Jan 01 00:00:00 1970", "Wed Mar  5 06:28:13 2009"];
  for (const base of bases) same(base);
  // Every position of each form replaced by characters that keep or break it.
  const swaps = [" ", "0", "1", "3", "9", ":", "a", "J", "x", "\t", "+"];
  for (const base of bases) {
    for (let i = 0; i < base.length; i++) for (const c of swaps) same(base.slice(0, i) + c + base.slice(i + 1));
    for (const tail of ["", " ", " +0100", " GMT", "\t", "x"]) same(base + tail);
    same(base.slice(0, -1));
    same(base.toUpperCase());
    same(base.toLowerCase());
  }
  // Out-of-range fields parse to null both ways; a day of 0 or 32, an hour of 24.
  for (const text of ["Thu Sep 32 17:54:04 2008", "Thu Sep 00 17:54:04 2008", "Thu Sep 18 24:54:04 2008", "Thu Sep 18 17:60:04 2008", "Thu Sep 18 17:54:61 2008"]) {
    assert.equal(parseEnvelopeDate(text), null, text);
    same(text);
  }
  // Random texts in the form's alphabet.
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const alphabet = "0123456789 :MonTueSepDecJanThuSat+-";
  for (let k = 0; k < 20000; k++) {
    const chars = [...bases[rand(bases.length)]];
    for (let m = rand(3); m >= 0; m--) chars[rand(chars.length)] = alphabet[rand(alphabet.length)];
    same(chars.join(""));
  }
});

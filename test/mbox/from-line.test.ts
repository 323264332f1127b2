import assert from "node:assert/strict";
import { test } from "node:test";
import { isHeaderLine, parseFromLine } from "../../src/mbox/from-line.js";

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

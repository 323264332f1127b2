import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import zlib from "node:zlib";
import { type MboxFormat, MboxReader, NotMboxError } from "../../src/mbox/reader.js";
import { buildMbox, FIXTURES, realMessages, tempDir, unquotedByLines, type Writer } from "../helpers/mbox.js";

function readAll(file: string, format: MboxFormat = "auto", opts: { chunk?: number } = {}) {
  const fd = fs.openSync(file, "r");
  try {
    const reader = new MboxReader(fd, format);
    const out: Array<{ bytes: Buffer; framing: string; pseudo: boolean; truncated: boolean; end: number }> = [];
    for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
      const parts: Buffer[] = [];
      const content = next.content();
      let step = content.next();
      for (; !step.done; step = content.next()) parts.push(Buffer.from(step.value));
      out.push({ bytes: Buffer.concat(parts), framing: next.message.framing, pseudo: next.message.pseudo, truncated: step.value.truncated, end: step.value.end });
    }
    void opts;
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function write(dir: string, name: string, data: Buffer | string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

const dir = tempDir();
const lf = realMessages("lf").map((m) => m.bytes);

for (const writer of ["mboxrd", "mboxo", "mboxcl", "mboxcl2"] as Writer[]) {
  test(`${writer}: every real message comes back byte for byte, read as ${writer} and as auto`, () => {
    const built = buildMbox(lf, writer);
    const file = write(dir, `${writer}.mbox`, built.mbox);
    for (const format of [writer, "auto"] as MboxFormat[]) {
      if (writer === "mboxo" && format === "auto") continue; // auto reads as mboxrd: see the next test
      const got = readAll(file, format);
      assert.equal(got.length, built.expected.length, `${format}: message count`);
      got.forEach((m, i) => assert.ok(m.bytes.equals(built.expected[i]), `${format}: message ${i} differs`));
    }
  });
}

test("auto reads an mboxo file exactly unless a body held a >From line of its own", () => {
  const built = buildMbox(lf, "mboxo");
  const file = write(dir, "mboxo-auto.mbox", built.mbox);
  const got = readAll(file, "auto");
  assert.equal(got.length, built.expected.length);
  got.forEach((m, i) => {
    if (!/^>+From /m.test(built.expected[i].toString("latin1"))) assert.ok(m.bytes.equals(built.expected[i]), `message ${i}`);
  });
});

test("the fixtures hold From lines in bodies, so quoting is really exercised", () => {
  assert.ok(lf.filter((m) => /^From /m.test(m.toString("latin1"))).length >= 5);
});

test("CRLF files: the blank CRLF line before From_ is framing", () => {
  const crlf = realMessages("crlf").map((m) => m.bytes);
  const built = buildMbox(crlf, "mboxrd", { crlf: true });
  const got = readAll(write(dir, "crlf.mbox", built.mbox));
  assert.equal(got.length, crlf.length);
  got.forEach((m, i) => assert.ok(m.bytes.equals(built.expected[i]), `message ${i}`));
});

test("real sisimai mbox: 37 messages, and the one-message file", () => {
  assert.equal(readAll(path.join(FIXTURES, "mbox", "mbox-0")).length, 37);
  assert.equal(readAll(path.join(FIXTURES, "mbox", "mbox-1")).length, 1);
});

test("an empty file is an empty mailbox; one without a From_ line is not an mbox", () => {
  assert.equal(readAll(path.join(FIXTURES, "mbox", "size-0")).length, 0);
  assert.throws(() => readAll(path.join(FIXTURES, "mbox", "size-2")), NotMboxError);
  assert.throws(() => readAll(write(dir, "eml", lf[0])), /does not begin with a From_ line; it begins with a header field, as a single message/);
  // What the first bytes do not explain is shown; a compressed file's are not (they are noise).
  assert.throws(() => readAll(path.join(FIXTURES, "mbox", "size-2")), { message: 'not an mbox: the file does not begin with a From_ line (starts "22\\n")' });
  assert.throws(() => readAll(write(dir, "mbox.gz", zlib.gzipSync(fs.readFileSync(path.join(FIXTURES, "mbox", "mbox-1"))))), {
    message: "not an mbox: the file does not begin with a From_ line; it is gzip-compressed: decompress it (zcat) and migrate the result",
  });
});

test("a From line in a body counts only after a blank line, when it parses and a header follows", () => {
  const text = [
    "From a@b Mon Jan  1 12:00:00 2001",
    "Subject: one",
    "",
    "body",
    "From a@b Mon Jan  1 12:00:00 2001", // no blank line before: content
    "",
    "From here on it is text.", // blank line, but no date: content
    "",
    "From a@b Mon Jan  1 12:00:00 2001", // parses, but no header line follows: content
    "just text",
    "",
    "From c@d Tue Jan  2 12:00:00 2001",
    "Subject: two",
    "",
    "second",
    "",
  ].join("\n");
  const got = readAll(write(dir, "tricky.mbox", text), "mboxo");
  assert.equal(got.length, 2);
  assert.match(got[0].bytes.toString(), /^Subject: one\n\nbody\nFrom a@b.*\n\nFrom here on it is text.\n\nFrom a@b.*\njust text\n$/);
  assert.equal(got[1].bytes.toString(), "Subject: two\n\nsecond\n");
});

test("a file without a final newline: the last message passes as it stands, flagged", () => {
  const got = readAll(write(dir, "nonl.mbox", "From a@b Mon Jan  1 12:00:00 2001\nSubject: x\n\nno newline"));
  assert.equal(got[0].bytes.toString(), "Subject: x\n\nno newline");
  assert.equal(got[0].truncated, true);
});

test("8-bit, NUL and lone CR bytes and very long lines pass through", () => {
  const body = Buffer.concat([Buffer.from("Subject: bin\n\n"), Buffer.from([0, 1, 0xff, 0x0d, 0x41, 0x0a]), Buffer.alloc(3 * 1024 * 1024, 0x61), Buffer.from("\n")]);
  const mbox = Buffer.concat([Buffer.from("From a@b Mon Jan  1 12:00:00 2001\n"), body, Buffer.from("\n")]);
  const got = readAll(write(dir, "bin.mbox", mbox));
  assert.ok(got[0].bytes.equals(body));
});

test("the folder-data pseudo message is marked", () => {
  const pseudo = "From MAILER_DAEMON Wed Oct 10 10:10:10 2001\nDate: Wed, 10 Oct 2001 10:10:10 +0000\nFrom: Mail System Internal Data <MAILER-DAEMON@host>\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1002704010 0000000002\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n";
  const got = readAll(write(dir, "pseudo.mbox", `${pseudo}From a@b Mon Jan  1 12:00:00 2001\nSubject: real\n\nhi\n\n`));
  assert.deepEqual(got.map((m) => m.pseudo), [true, false]);
});

test("auto: Content-Length that misses the boundary is ignored; From_ framing applies", () => {
  const text = "From a@b Mon Jan  1 12:00:00 2001\nContent-Length: 999\n\nbody\n\nFrom c@d Mon Jan  1 12:00:00 2001\nSubject: 2\n\nx\n\n";
  const got = readAll(write(dir, "badcl.mbox", text));
  assert.deepEqual(got.map((m) => m.framing), ["from", "from"]);
  assert.equal(got[0].bytes.toString(), "Content-Length: 999\n\nbody\n");
});

test("mboxcl2: a stale Content-Length above the writer's does not split the message at its unquoted From_ line", () => {
  const body = "before\n\nFrom x@y Tue Feb  2 10:00:00 2010\nSubject: forwarded\n\nafter\n";
  const first = `Content-Length: 3\nSubject: 1\nContent-Length: ${body.length}\n\n${body}`;
  const text = `From a@b Mon Jan  1 12:00:00 2001\n${first}\nFrom c@d Mon Jan  1 12:00:00 2001\nContent-Length: 2\n\nx\n\n`;
  const file = write(dir, "two-lengths.mbox", text);
  for (const format of ["mboxcl2", "auto"] as MboxFormat[]) {
    const got = readAll(file, format);
    assert.deepEqual(got.map((m) => m.framing), ["content-length", "content-length"], format);
    assert.equal(got[0].bytes.toString(), first, format);
    assert.equal(got[1].bytes.toString(), "Content-Length: 2\n\nx\n", format);
  }
});

test("a Content-Length one byte too long (the blank line before the next From_ line counted) is no boundary; one with no blank line after it is", () => {
  const from = (who: string) => `From ${who}@example.org Mon Jan  1 12:00:00 2001\n`;
  // A one-line body counted with CRLF ("Hello\r\n", 7) and kept with LF ("Hello\n", 6).
  const stale = `Content-Length: 7\nSubject: 1\n\nHello\n`;
  const text = `${from("a")}${stale}\n${from("b")}Subject: 2\n\nx\n\n`;
  const file = write(dir, "plus-one.mbox", text);
  for (const format of ["auto", "mboxcl2"] as MboxFormat[]) {
    const got = readAll(file, format);
    assert.deepEqual(got.map((m) => m.bytes.toString()), [stale, "Subject: 2\n\nx\n"], format);
    assert.deepEqual(got.map((m) => m.framing), ["from", "from"], format);
  }
  // The same at the end of the file: the last blank line is the separator, not the body's.
  const last = readAll(write(dir, "plus-one-at-end.mbox", `${from("a")}${stale}\n`), "auto");
  assert.deepEqual(last.map((m) => [m.framing, m.bytes.toString()]), [["from", stale]]);
  // In a CRLF file a count one byte too long ends between the separator's CR and LF.
  const crlf = stale.replace(/\n/g, "\r\n").replace("Content-Length: 7", "Content-Length: 8");
  const fromCrlf = (who: string) => from(who).replace("\n", "\r\n");
  for (const text of [`${fromCrlf("a")}${crlf}\r\n${fromCrlf("b")}Subject: 2\r\n\r\nx\r\n\r\n`, `${fromCrlf("a")}${crlf}\r\n`]) {
    const got = readAll(write(dir, "plus-one-crlf.mbox", text), "auto");
    assert.deepEqual(got[0].bytes.toString(), crlf);
    assert.equal(got[0].framing, "from");
  }
  // Above the writer's own Content-Length, the stale one is passed over for it.
  const both = `Content-Length: 7\nSubject: 1\nContent-Length: 6\n\nHello\n`;
  const got = readAll(write(dir, "plus-one-above.mbox", `${from("a")}${both}\n${from("b")}Content-Length: 2\n\nx\n\n`), "mboxcl2");
  assert.deepEqual(got.map((m) => [m.framing, m.bytes.toString()]), [["content-length", both], ["content-length", "Content-Length: 2\n\nx\n"]]);
  // A writer that leaves out the blank line between messages: its Content-Length still frames.
  const tight = readAll(write(dir, "no-blank-line.mbox", `${from("a")}Content-Length: 6\n\nHello\n${from("b")}Content-Length: 2\n\nx\n`), "mboxcl2");
  assert.deepEqual(tight.map((m) => [m.framing, m.bytes.toString()]), [["content-length", "Content-Length: 6\n\nHello\n"], ["content-length", "Content-Length: 2\n\nx\n"]]);
});

test("a 12 MB message streams in pieces with a window that stays small", () => {
  const big = Buffer.concat([Buffer.from("Subject: big\n\n"), Buffer.alloc(12 * 1024 * 1024, "x\n")]);
  const file = write(dir, "big.mbox", Buffer.concat([Buffer.from("From a@b Mon Jan  1 12:00:00 2001\n"), big, Buffer.from("\nFrom a@b Mon Jan  1 12:00:00 2001\nSubject: s\n\nsmall\n")]));
  const fd = fs.openSync(file, "r");
  const reader = new MboxReader(fd, "auto");
  const first = reader.nextMessage();
  let pieces = 0;
  let total = 0;
  let largest = 0;
  for (const piece of first?.content() ?? []) {
    pieces++;
    total += piece.length;
    largest = Math.max(largest, piece.length);
  }
  assert.equal(total, big.length);
  assert.ok(pieces >= 10 && largest <= 1 << 20, `${pieces} pieces, largest ${largest}`);
  assert.ok(reader.nextMessage());
  fs.closeSync(fd);
});

test("a quoted From_ line after a blank line is unquoted wherever the reads split the body", () => {
  // The reader hands the body over in pieces cut near its 1 MB window's end. With the blank
  // line at one offset there, an earlier version cut between its two newlines and left that
  // one message's ">From " quoted. Every offset around the window's end is tried.
  const dir = tempDir();
  const head = "From a@example.org Thu Sep 18 17:04:04 2008\nSubject: x\n\n";
  for (let offset = (1 << 20) - 96; offset < (1 << 20) + 16; offset++) {
    const body = `${"y".repeat(offset - head.length - 1)}\n\n>From quoted\n>>From twice\nend\n`;
    const [message] = readAll(write(dir, "split.mbox", head + body), "mboxrd");
    assert.ok(message.bytes.includes("\n\nFrom quoted\n>From twice\n"), `blank line at body offset ${offset}`);
  }
});

test("quoted From_ lines anywhere around the reader's window end come out as the line rule says", () => {
  // The framing search notes where it met ">From ", and the unquoter searches only pieces
  // that hold one: a piece wrongly passed over would keep its quote. Dense random lines of
  // quotes, From and line ends are laid across the first read window's end (1 MB into the
  // file), at a different place each time, and the whole message is held to the line rule.
  const dir = tempDir();
  let seed = 11;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = [">", ">>", "From ", "Fro", "m ", "\n", "\r\n", "x", " ", ">From ", "\n>From ", "\n>>From ", "\n\n>From y\n", "From nodate\n"];
  const fromLine = "From a@example.org Thu Sep 18 17:04:04 2008\n";
  const head = `${fromLine}Subject: x\n\n`;
  for (let round = 0; round < 48; round++) {
    let dense = "";
    while (dense.length < 600) dense += pieces[random(pieces.length)];
    const fill = (1 << 20) - head.length - 300 + random(300);
    const body = `${"y".repeat(fill - 1)}\n${dense}\nend\n`;
    for (const mode of ["mboxrd", "mboxo"] as const) {
      const messages = readAll(write(dir, "dense.mbox", head + body), mode);
      assert.equal(messages.length, 1);
      const got = messages[0].bytes.toString("latin1");
      const want = unquotedByLines(mode, head.slice(fromLine.length) + body);
      let at = 0;
      while (at < want.length && got[at] === want[at]) at++;
      assert.ok(got === want, `${mode}, round ${round}: differs at ${at}: got ${JSON.stringify(got.slice(at - 20, at + 40))}, want ${JSON.stringify(want.slice(at - 20, at + 40))}`);
    }
  }
});

test("auto: a Content-Length body holding a bare From_ line is left unquoted, wherever that line lies around the reader's window and reads", () => {
  // auto looks for a bare From_ line in a Content-Length-framed body (its writer did not
  // quote): in the window when the body lies there, else by reads a megabyte at a time,
  // starting on the newline before the body. The line is put at the body's start and end,
  // and across the first read's end one offset at a time; a ">From " elsewhere in the body
  // must come through as it is. Without a bare line the body is unquoted (auto reads as mboxrd).
  const dir = tempDir();
  const fromLine = "From a@example.org Thu Sep 18 17:04:04 2008\n";
  const next = `${fromLine}Content-Length: 2\n\nx\n`;
  const MB = 1 << 20;
  // [where, bytes of the body before the line, after it]; "end" puts "From " last, with no newline.
  const cases: Array<[string, number, number | "end"]> = [
    ["first line, body in the window", 0, 300],
    ["first line, body read", 0, MB + 300],
    ["last line", 300, 0],
    ["last bytes, body in the window", 300, "end"],
    ["last bytes, body read", MB + 300, "end"],
  ];
  // The first read starts a byte before the body: its last newline is at body offset MB - 2.
  for (let d = -8; d <= 8; d++) cases.push(["across the first read's end", MB - 2 + d, 40]);
  for (const [where, before, after] of cases) {
    for (const bare of [true, false]) {
      const quote = bare ? "" : ">";
      const line = after === "end" ? `${quote}From ` : `${quote}From line\n`;
      const head = before === 0 ? "" : `>From quoted\n${"y".repeat(before - ">From quoted\n".length - 1)}\n`;
      const tail = after === "end" || after === 0 ? "" : `${"z".repeat(after)}\n${before === 0 ? ">From quoted\n" : ""}`;
      const body = head + line + tail;
      assert.equal(body.lastIndexOf(line), before, where);
      const first = `Subject: cl\nContent-Length: ${body.length}\n\n${body}`;
      const got = readAll(write(dir, "bare.mbox", `${fromLine}${first}\n${next}`), "auto");
      assert.deepEqual(got.map((m) => m.framing), ["content-length", "content-length"], `${where} ${before}`);
      const want = bare ? first : first.replace(/\n>From /g, "\nFrom ");
      assert.ok(got[0].bytes.toString("latin1") === want, `${where}, ${before} bytes in: ${bare ? "unquoted wrongly" : "not unquoted"}`);
    }
  }
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = path.join(REPO, "fixtures");

export type Writer = "mboxrd" | "mboxo" | "mboxcl" | "mboxcl2";

/** The unquoting rule applied to whole lines of a whole text: what any reading must give. */
export function unquotedByLines(mode: "mboxrd" | "mboxo", input: string): string {
  const quoted = mode === "mboxrd" ? /^>(>*From )/ : /^>(From )/;
  return input
    .split("\n")
    .map((line) => line.replace(quoted, "$1"))
    .join("\n");
}

/** Real messages from fixtures/eml (see fixtures/README.md). */
export function realMessages(kind: "lf" | "crlf" = "lf", limit = Infinity): Array<{ name: string; bytes: Buffer }> {
  const dir = path.join(FIXTURES, "eml", kind);
  return fs
    .readdirSync(dir)
    .sort()
    .slice(0, limit)
    .map((name) => ({ name, bytes: fs.readFileSync(path.join(dir, name)) }));
}

export interface BuiltMbox {
  mbox: Buffer;
  /** What each message must be in the Maildir, byte for byte. */
  expected: Buffer[];
}

const DATES = ["Mon Jan  1 12:00:00 2001", "Tue Sep 03 12:34:56 +0000 2002", "Wed Mar 5 06:28:13 2009 +0100", "Thu Sep 18 17:54:04 2008"];

/**
 * Frames messages as an mbox writer of the given kind would: a From_ line, the message
 * (quoted as the variant quotes), and a blank line. mboxcl/mboxcl2 add Content-Length, which
 * then belongs to the expected message. `extraHeaders[i]` is inserted at the top of message i.
 */
export function buildMbox(messages: Buffer[], writer: Writer, opts: { crlf?: boolean; extraHeaders?: string[] } = {}): BuiltMbox {
  const eol = opts.crlf ? "\r\n" : "\n";
  const parts: Buffer[] = [];
  const expected: Buffer[] = [];
  messages.forEach((original, i) => {
    let msg = original;
    if (opts.extraHeaders?.[i]) msg = Buffer.concat([Buffer.from(opts.extraHeaders[i].replace(/\n/g, eol)), msg]);
    if (writer === "mboxcl" || writer === "mboxcl2") {
      // The header ends at its first blank line, LF or CRLF (an LF file can hold CRLF messages);
      // the writer's Content-Length line goes just before it, ending the same way.
      const [lf, crlf] = [msg.indexOf("\n\n"), msg.indexOf("\n\r\n")];
      const blankAt = (crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf) + 1;
      const blank = msg.subarray(blankAt, blankAt + (msg[blankAt] === 0x0d ? 2 : 1));
      const head = Buffer.concat([msg.subarray(0, blankAt), Buffer.from(`Content-Length: `)]);
      const original = msg.subarray(blankAt + blank.length);
      const body = writer === "mboxcl" ? quote(original, "mboxo") : original;
      const length = Buffer.concat([Buffer.from(String(body.length)), blank, blank]);
      expected.push(Buffer.concat([head, length, original]));
      parts.push(Buffer.from(`From sender${i}@example.org ${DATES[i % DATES.length]}${eol}`), Buffer.concat([head, length, body]), Buffer.from(eol));
      return;
    }
    expected.push(msg);
    parts.push(Buffer.from(`From sender${i}@example.org ${DATES[i % DATES.length]}${eol}`), quote(msg, writer), Buffer.from(eol));
  });
  return { mbox: Buffer.concat(parts), expected };
}

/**
 * Writes (or, with append, adds to) `file` an mboxrd of `n` real LF messages, each with its
 * extra header lines if given: the first n, or, past their number, all of them over again in
 * turn. Returns what was built.
 */
export function writeRealMbox(file: string, n: number, opts: { extraHeaders?: string[]; append?: boolean } = {}): BuiltMbox {
  const real = realMessages("lf").map((m) => m.bytes);
  const built = buildMbox(Array.from({ length: n }, (_, i) => real[i % real.length]), "mboxrd", { extraHeaders: opts.extraHeaders });
  (opts.append ? fs.appendFileSync : fs.writeFileSync)(file, built.mbox);
  return built;
}

/** Quotes as writers do, line by line: a line starts after LF only (a regular expression's `^` with /m also matches after a lone CR). */
function quote(msg: Buffer, writer: "mboxrd" | "mboxo"): Buffer {
  const pattern = writer === "mboxrd" ? /^>*From / : /^From /;
  const lines = msg.toString("latin1").split("\n");
  return Buffer.from(lines.map((line) => (pattern.test(line) ? `>${line}` : line)).join("\n"), "latin1");
}

const madeDirs: string[] = [];

/**
 * A fresh directory under the system's temporary directory, removed when the test file's
 * process exits (a run of the suite made ~300 MB of them) unless MAILSTORE_KEEP_TEST_DIRS
 * is set, to look at what a failing test left.
 */
export function tempDir(prefix = "mailstore-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (process.env.MAILSTORE_KEEP_TEST_DIRS) return dir;
  if (madeDirs.length === 0) process.on("exit", removeMadeDirs);
  madeDirs.push(dir);
  return dir;
}

function removeMadeDirs(): void {
  for (const dir of madeDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // a directory a test left unremovable (a mount still on it): the system's tmp cleaning takes it
    }
  }
}

/** Contents of every message file in a Maildir folder, in name order (= mbox order). */
export function maildirMessages(folderDir: string): Array<{ name: string; sub: string; bytes: Buffer }> {
  const out: Array<{ name: string; sub: string; bytes: Buffer }> = [];
  for (const sub of ["new", "cur"]) {
    for (const name of fs.readdirSync(path.join(folderDir, sub))) out.push({ name, sub, bytes: fs.readFileSync(path.join(folderDir, sub, name)) });
  }
  const order = (name: string) => Number(/\.M(\d+)P/.exec(name)?.[1] ?? -1) + Number(name.split(".")[0]) * 1e6;
  return out.sort((a, b) => order(a.name) - order(b.name));
}

/** A message's header block: up to and including the first empty line (LF or CRLF), or all of it. */
export function headerBlock(msg: Buffer): Buffer {
  const lf = msg.indexOf("\n\n");
  const crlf = msg.indexOf("\r\n\r\n");
  const end = lf >= 0 && (crlf < 0 || lf < crlf) ? lf + 1 : crlf >= 0 ? crlf + 2 : msg.length;
  return msg.subarray(0, end);
}

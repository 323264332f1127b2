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
      const headerEnd = msg.indexOf(`${eol}${eol}`);
      const bodyStart = headerEnd + eol.length * 2;
      const body = writer === "mboxcl" ? quote(msg.subarray(bodyStart), "mboxo") : msg.subarray(bodyStart);
      const head = msg.subarray(0, headerEnd + eol.length);
      const withLength = Buffer.concat([head, Buffer.from(`Content-Length: ${body.length}${eol}${eol}`), msg.subarray(bodyStart)]);
      expected.push(withLength);
      parts.push(Buffer.from(`From sender${i}@example.org ${DATES[i % DATES.length]}${eol}`), Buffer.concat([head, Buffer.from(`Content-Length: ${body.length}${eol}${eol}`), body]), Buffer.from(eol));
      return;
    }
    expected.push(msg);
    parts.push(Buffer.from(`From sender${i}@example.org ${DATES[i % DATES.length]}${eol}`), quote(msg, writer), Buffer.from(eol));
  });
  return { mbox: Buffer.concat(parts), expected };
}

function quote(msg: Buffer, writer: "mboxrd" | "mboxo"): Buffer {
  const text = msg.toString("latin1");
  const pattern = writer === "mboxrd" ? /^(>*From )/gm : /^(From )/gm;
  return Buffer.from(text.replace(pattern, ">$1"), "latin1");
}

export function tempDir(prefix = "mailstore-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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

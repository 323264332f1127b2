import fs from "node:fs";
import path from "node:path";
import { nativeAddon } from "../util/native.js";
import { openForReading } from "../util/read-file.js";

/**
 * A message file's header block (up to the first blank line, at most 64 KB) with the file's
 * size and mtime (whole ms), as the index reads them. `failed`: the file could not be opened
 * or read (gone, a symlink, unreadable); size and received are then what was learnt before.
 */
export interface MessageHead {
  block: Buffer;
  size: number;
  received: number;
  failed: boolean;
}

const HEADER_READ = 64 * 1024;

const scratch = Buffer.allocUnsafe(HEADER_READ);

const LF_LF = Buffer.from("\n\n");
const CRLF_CRLF = Buffer.from("\r\n\r\n");

/** Where the header block of `view` ends (just past its blank line), or -1 if it has none yet. */
export function headerEnd(view: Buffer): number {
  const native = nativeAddon();
  if (!native) return headerEndByIndexOf(view);
  // The first "\n\n" or "\r\n\r\n" (native/blank-line.c): the block ends where the blank line starts.
  return native.blankLine(view, 0, view.length, 4);
}

/** headerEnd by Buffer.indexOf, without the addon. */
export function headerEndByIndexOf(view: Buffer): number {
  // Buffer needles: a string needle is converted on every call (~2 us each, per message).
  const lf = view.indexOf(LF_LF);
  // The CRLF form is looked for only before the LF one: in an LF message it would be searched
  // for through the whole view (the body, up to 64 KB a message).
  const crlf = (lf >= 0 ? view.subarray(0, lf + 3) : view).indexOf(CRLF_CRLF);
  return lf >= 0 && (crlf < 0 || lf < crlf) ? lf + 1 : crlf >= 0 ? crlf + 2 : -1;
}

/** Reads a message file's header block only (up to the first blank line, at most 64 KB). */
function readHeaderBlock(fd: number): Buffer {
  const buf = scratch;
  let got = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, got, Math.min(16 * 1024, HEADER_READ - got), got);
    if (n === 0) break;
    got += n;
    const end = headerEnd(buf.subarray(0, got));
    if (end >= 0) return Buffer.from(buf.subarray(0, end));
    if (got >= HEADER_READ) break;
  }
  return Buffer.from(buf.subarray(0, got));
}

/**
 * The header block readHeads would read from a file holding `pieces`, taken from the pieces
 * instead: a view into the first one where the block ends in it (nearly always), else a copy
 * of the first 64 KB that the pieces hold. Valid as long as the pieces are.
 */
export function headerBlockOf(pieces: Buffer[]): Buffer {
  const first = pieces.length > 0 ? pieces[0].subarray(0, HEADER_READ) : Buffer.alloc(0);
  let end = headerEnd(first);
  // An end found in the first piece is the one the whole would give: the search stops at its
  // first blank line either way, and the CRLF one is sought only before it.
  if (end >= 0 || pieces.length <= 1 || first.length === HEADER_READ) return first.subarray(0, end >= 0 ? end : first.length);
  const head: Buffer[] = [];
  let size = 0;
  for (const piece of pieces) {
    if (size >= HEADER_READ) break;
    head.push(piece.subarray(0, HEADER_READ - size));
    size += head[head.length - 1].length;
  }
  const whole = Buffer.concat(head);
  end = headerEnd(whole);
  return whole.subarray(0, end >= 0 ? end : whole.length);
}

const META_PER_FILE = 5;

/**
 * The heads of the files `names` (relative to `dir`: "cur/<file>"), in order: one native call
 * for them all (native/read-heads.c), or one file at a time in JavaScript without the addon.
 * The two give the same heads; a test holds them to it.
 */
export function readHeads(dir: string, names: string[]): MessageHead[] {
  const addon = nativeAddon();
  if (!addon) return readHeadsByFs(dir, names);
  const { blocks, meta } = addon.readHeads(dir, names, HEADER_READ);
  return names.map((_, i) => {
    const m = i * META_PER_FILE;
    return { block: blocks.subarray(meta[m], meta[m] + meta[m + 1]), size: meta[m + 2], received: Math.floor(meta[m + 3]), failed: meta[m + 4] !== 0 };
  });
}

/** readHeads through Node's fs, a file at a time. */
export function readHeadsByFs(dir: string, names: string[]): MessageHead[] {
  return names.map((name) => readHeadByFs(path.join(dir, name)));
}

function readHeadByFs(file: string): MessageHead {
  const head: MessageHead = { block: Buffer.alloc(0), size: 0, received: 0, failed: false };
  try {
    const fd = openForReading(file);
    try {
      const st = fs.fstatSync(fd);
      head.size = st.size;
      head.received = Math.floor(st.mtimeMs);
      head.block = readHeaderBlock(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    head.failed = true;
  }
  return head;
}

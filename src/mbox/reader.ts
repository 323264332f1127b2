import fs from "node:fs";
import { contentLengths } from "./content-length.js";
import { type Envelope, isHeaderLine, parseFromLine } from "./from-line.js";
import { Unquoter, type Unquoting } from "./unquote.js";
import type { MboxFormat } from "./formats.js";
import { nonMboxKind } from "./not-mbox.js";
import { FileWindow, type WindowBuffers } from "./window.js";

export { MBOX_FORMATS, type MboxFormat } from "./formats.js";

export interface MboxMessage {
  /** File offset of the From_ line. */
  offset: number;
  envelope: Envelope;
  /** The raw header block (up to HEADER_LIMIT bytes), for flags and dates; the content stream repeats it. A view into the reader's buffers: valid while this message is handled (a buffer moved off is read into again only when its `buffers` owner hands it out again; see FileWindow.load). */
  header: Buffer;
  framing: "from" | "content-length";
  unquoting: Unquoting;
  /** The UW-IMAP/Pine/Dovecot "FOLDER INTERNAL DATA" message: bookkeeping, not mail. */
  pseudo: boolean;
}

export interface MessageEnd {
  /** File offset just past this message's framing: where the next From_ line starts, or EOF. */
  end: number;
  /** CRC-32 of the source's bytes [0, end). */
  crc: number;
  /** The file ended without a final newline inside this message: it may have been cut short. */
  truncated: boolean;
}

export class NotMboxError extends Error {}

const HEADER_LIMIT = 256 * 1024;
const LINE_LIMIT = 4096;
const NL_FROM = Buffer.from("\nFrom ");
const FROM_ = Buffer.from("From ");
const NL = 0x0a;
const CR = 0x0d;
const GT = 0x3e;

/**
 * Reads an mbox file as a sequence of messages, streaming each message's content.
 * Framing: a From_ line starts a message at the start of the file or after a blank line,
 * only when it parses (sender, then a date) and a header line follows it. The blank line
 * before the next From_ line (or at the end of the file) is framing, not content.
 * See docs/mbox-formats.md.
 */
export class MboxReader {
  private readonly win: FileWindow;
  private next: number;
  private pending: { msg: MboxMessage; iterated: boolean } | null = null;
  /** Messages framed by From_ lines although the format asked for Content-Length. */
  clFallbacks = 0;

  constructor(
    readonly fd: number,
    readonly format: MboxFormat = "auto",
    opts: { size?: number; from?: number; crcBefore?: number; windowBytes?: number; buffers?: WindowBuffers } = {},
  ) {
    const size = opts.size ?? fs.fstatSync(fd).size;
    this.next = opts.from ?? 0;
    this.win = new FileWindow(fd, size, this.next, opts.crcBefore ?? 0, opts.windowBytes, opts.buffers);
  }

  /** Gives the window's buffer back to its WindowBuffers, once the last message is read: the reader is not used after. */
  close(): void {
    this.win.close();
  }

  /**
   * The next message, or null at the end. Its content must be read with content() before
   * the following call, or it is skipped.
   */
  nextMessage(): { message: MboxMessage; content: () => Generator<Buffer, MessageEnd> } | null {
    if (this.pending && !this.pending.iterated) {
      const drain = this.contentOf(this.pending.msg);
      while (!drain.next().done);
    }
    this.pending = null;
    const at = this.next;
    if (at >= this.win.size) return null;
    this.win.load(at, at + LINE_LIMIT);
    const lineEnd = this.lineEnd(at);
    // The framing of the message before parsed this line already, to know it for a separator.
    const envelope = this.separator?.at === at ? this.separator.envelope : lineEnd < 0 ? null : parseFromLine(this.win.view(at, lineEnd).toString("latin1"));
    this.separator = null;
    if (!envelope) {
      const start = this.win.view(at, Math.min(at + 40, this.win.end));
      const kind = at === 0 ? nonMboxKind(start) : null;
      const what = at === 0 ? "the file does not begin with a From_ line" : `no From_ line at byte ${at}`;
      throw new NotMboxError(`not an mbox: ${what}${kind ? `; ${kind}` : ` (starts ${JSON.stringify(start.toString("latin1"))})`}`);
    }
    const contentStart = lineEnd + 1;
    const header = this.readHeader(contentStart);
    const msg = this.frame(at, envelope, contentStart, header);
    const entry = { msg, iterated: false };
    this.pending = entry;
    return {
      message: msg,
      content: () => {
        entry.iterated = true;
        return this.contentOf(msg);
      },
    };
  }

  private contentStart = 0;
  private clEnd = -1;
  private clNext = -1;
  /**
   * File offset of the last "From " the framing search met right after a ">" (a quoted From_
   * line, or one inside a line): the unquoter searches a piece only if one lies in it.
   */
  private quotedHit = -1;
  /** Whether the piece being yielded may hold a quoted From_ line (see contentOf). */
  private pieceMayQuote = true;
  /** The From_ line that ended the last message, as isSeparator parsed it. */
  private separator: { at: number; envelope: Envelope } | null = null;
  /** For bytesAt's reads outside the window: one buffer for the reader, not one per message. */
  private scratch: Buffer | null = null;

  private frame(at: number, envelope: Envelope, contentStart: number, header: Buffer): MboxMessage {
    this.contentStart = contentStart;
    this.clEnd = -1;
    let framing: MboxMessage["framing"] = "from";
    let unquoting: Unquoting = this.format === "mboxo" || this.format === "mboxcl" ? "mboxo" : "mboxrd";
    if (this.format === "auto" || this.format === "mboxcl" || this.format === "mboxcl2") {
      const bodyStart = contentStart + header.length;
      let boundary = -1;
      let end = -1;
      // Every Content-Length in turn, the first that lands: a message can carry a stale one
      // from elsewhere above the one its mbox writer added.
      for (const length of header.length < HEADER_LIMIT ? contentLengths(header) : []) {
        end = bodyStart + length;
        boundary = this.contentLengthBoundary(end);
        if (boundary >= 0) break;
      }
      if (boundary >= 0) {
        framing = "content-length";
        this.clEnd = end;
        this.clNext = boundary;
        if (this.format === "mboxcl2") unquoting = "none";
        else if (this.format === "auto" && this.hasBareFromLine(bodyStart, this.clEnd)) unquoting = "none";
      } else if (this.format !== "auto") {
        this.clFallbacks++;
        if (this.format === "mboxcl2") unquoting = "none";
      }
    }
    const pseudo = at === 0 && isPseudoMessage(header.toString("latin1"));
    return { offset: at, envelope, header, framing, unquoting, pseudo };
  }

  private *contentOf(msg: MboxMessage): Generator<Buffer, MessageEnd> {
    const unquoter = new Unquoter(msg.unquoting);
    const raw = this.clEnd >= 0 ? this.clContent() : this.fromContent();
    let step = raw.next();
    while (!step.done) {
      // From_ framing has searched every "From " of the piece already: one the unquoter would
      // act on is a ">From ", met there. A quoted line cut at the piece's end the unquoter
      // holds back and searches with the next piece, whatever this says.
      yield* unquoter.transform(step.value, this.pieceMayQuote);
      step = raw.next();
    }
    yield* unquoter.flush();
    const { contentEnd, next } = step.value;
    this.next = next;
    const truncated = contentEnd === next && contentEnd > this.contentStart && this.byteAt(contentEnd - 1) !== NL;
    return { end: next, crc: this.win.crcThrough(next), truncated };
  }

  private *clContent(): Generator<Buffer, { contentEnd: number; next: number }> {
    this.pieceMayQuote = true;
    let pos = this.contentStart;
    while (pos < this.clEnd) {
      // What the window holds is yielded before it moves on: a move then keeps nothing.
      if (pos >= this.win.end) this.win.load(pos, Math.min(this.clEnd, pos + this.win.buf.length));
      const upTo = Math.min(this.win.end, this.clEnd);
      yield this.win.view(pos, upTo);
      pos = upTo;
    }
    this.win.load(pos, this.clNext);
    return { contentEnd: this.clEnd, next: this.clNext };
  }

  private *fromContent(): Generator<Buffer, { contentEnd: number; next: number }> {
    const start = this.contentStart;
    let emitted = start;
    let search = start;
    for (;;) {
      // Keep two bytes behind the search point: the blank line before a From_ line. The search
      // runs to the window's end; it moves on only when a From_ line there could not be read.
      this.win.load(Math.min(emitted, search - 2), search + LINE_LIMIT * 2);
      const hit = this.nextFromLine(search);
      if (hit < 0) {
        if (this.win.atEof) {
          const size = this.win.size;
          const contentEnd = Math.max(start, size - this.trailingBlankLine(size));
          if (contentEnd > emitted) yield this.piece(emitted, contentEnd);
          return { contentEnd, next: size };
        }
        search = Math.max(search, this.win.end - (NL_FROM.length - 1));
        if (search - 2 > emitted) {
          yield this.piece(emitted, search - 2);
          emitted = search - 2;
        }
        continue;
      }
      const lineStart = hit + 1;
      if (!this.win.atEof && this.win.end < lineStart + LINE_LIMIT * 2) {
        this.win.load(Math.min(emitted, hit - 2), lineStart + LINE_LIMIT * 2);
      }
      const blank = this.blankLineBefore(lineStart, start);
      if (blank > 0 && this.isSeparator(lineStart)) {
        const contentEnd = lineStart - blank;
        if (contentEnd > emitted) yield this.piece(emitted, contentEnd);
        return { contentEnd, next: lineStart };
      }
      search = lineStart;
    }
  }

  /** A piece of From_-framed content, searched through already by nextFromLine. */
  private piece(from: number, to: number): Buffer {
    this.pieceMayQuote = this.quotedHit >= from;
    return this.win.view(from, to);
  }

  /**
   * Offset of the first newline at or after `from` (in the window) that a "From " follows,
   * or -1. Searched as "From " and checked for its newline: a pattern that begins with a
   * newline makes Buffer.indexOf stop at every line, twice as slow on mail. Each "From "
   * after a ">" (or at the window's start, where the byte before is not at hand) is noted
   * for the unquoter, which then need not search the same bytes again.
   */
  private nextFromLine(from: number): number {
    for (let hit = this.win.indexOfFrom(from + 1); hit >= 0; hit = this.win.indexOfFrom(hit + FROM_.length)) {
      const before = this.win.byte(hit - 1);
      if (before === NL) return hit - 1;
      if (before === GT || before < 0) this.quotedHit = hit;
    }
    return -1;
  }

  /** Length (1 or 2) of the blank line ending just before lineStart, or 0 if that line is not blank. */
  private blankLineBefore(lineStart: number, contentStart: number): number {
    if (lineStart - 1 < contentStart) return 0;
    if (this.byteAt(lineStart - 2) === NL) return 1;
    if (lineStart - 2 >= contentStart && this.byteAt(lineStart - 2) === CR && this.byteAt(lineStart - 3) === NL) return 2;
    return 0;
  }

  private trailingBlankLine(size: number): number {
    if (this.byteAt(size - 1) !== NL) return 0;
    return this.blankLineBefore(size, this.contentStart);
  }

  private isSeparator(lineStart: number): boolean {
    const lineEnd = this.lineEnd(lineStart);
    if (lineEnd < 0) return false;
    const envelope = parseFromLine(this.win.view(lineStart, lineEnd).toString("latin1"));
    if (!envelope) return false;
    const next = lineEnd + 1;
    if (!isHeaderLine(this.win.view(next, Math.min(next + 1000, this.win.end)))) return false;
    this.separator = { at: lineStart, envelope };
    return true;
  }

  /** Offset of the newline ending the line at `at`, within LINE_LIMIT; -1 if none. */
  private lineEnd(at: number): number {
    // Searched in the whole buffer and held to the limit after: a view to bound the search
    // would be an object per From_ line. The first newline past the limit means none before it.
    const limit = Math.min(at + LINE_LIMIT, this.win.end);
    const hit = this.win.buf.indexOf(NL, at - this.win.start);
    return hit < 0 || hit >= limit - this.win.start ? -1 : hit + this.win.start;
  }

  private byteAt(offset: number): number {
    const b = this.win.byte(offset);
    if (b >= 0 || offset < 0 || offset >= this.win.size) return b;
    const one = Buffer.alloc(1);
    fs.readSync(this.fd, one, 0, 1, offset);
    return one[0];
  }

  private readHeader(contentStart: number): Buffer {
    // The blank line ending the header; contentStart - 1 is the From_ line's newline. Sought
    // first in what the window holds: loading HEADER_LIMIT ahead for every header moved the
    // window a quarter of a megabyte early each time, copying what it kept (150 MB for the
    // bench mbox's 500). The first blank line in a prefix of the range is the first in it.
    let limit = Math.min(this.win.end, contentStart + HEADER_LIMIT);
    let end = this.win.blankLineEnd(contentStart - 1, limit);
    if (end === null && limit < Math.min(this.win.size, contentStart + HEADER_LIMIT)) {
      this.win.load(contentStart - 2, contentStart + HEADER_LIMIT);
      limit = Math.min(this.win.end, contentStart + HEADER_LIMIT);
      end = this.win.blankLineEnd(contentStart - 1, limit);
    }
    end ??= limit;
    // A view, not a copy: the window does not rewrite a buffer it has moved off (see load()).
    return this.win.view(contentStart, Math.max(contentStart, end));
  }

  /**
   * The file's bytes [from, to): a view into the window where it holds them (nearly always:
   * it reads a megabyte at a time), else read into scratch space that the next call reuses.
   * Shorter only if the file ended early. Valid until the next call or the window moves.
   */
  private bytesAt(from: number, to: number): Buffer {
    if (from >= this.win.start && to <= this.win.end) return this.win.view(from, to);
    if (!this.scratch || this.scratch.length < to - from) this.scratch = Buffer.allocUnsafe(Math.max(to - from, 64 * 1024));
    return this.scratch.subarray(0, fs.readSync(this.fd, this.scratch, 0, to - from, from));
  }

  /**
   * If a message whose body ends at `end` would end exactly on a message boundary, the offset
   * where the next message starts (or the file's size); otherwise -1. A boundary is a blank
   * line and then a From_ line or the end of the file; or, right at `end`, a From_ line or
   * the end of the file when the body's last line is not blank (a writer that leaves out the
   * blank line between messages). A body whose last line is blank there has counted that
   * blank line: the separator, counted by a stale Content-Length one byte too long (a
   * one-line body counted with CRLF, kept with LF). It is no boundary, as for Dovecot; nor
   * is a count that ends between a CR and its LF.
   */
  private contentLengthBoundary(end: number): number {
    const size = this.win.size;
    if (end > size) return -1;
    if (end === size) return this.trailingBlankLine(size) > 0 ? -1 : size;
    const probe = this.bytesAt(end, end + Math.min(LINE_LIMIT * 2, size - end));
    let lineStart = 0;
    if (probe[0] === NL) lineStart = 1;
    else if (probe[0] === CR && probe[1] === NL) lineStart = 2;
    // A count that ends between a CR and its LF has split a CRLF line ending (the separator's,
    // counted one byte too far in a CRLF file): no boundary.
    if (lineStart === 1 && this.byteAt(end - 1) === CR) return -1;
    if (lineStart > 0 && end + lineStart === size) return size;
    if (lineStart === 0 && (this.byteAt(end - 1) !== NL || this.blankLineBefore(end, this.contentStart) > 0)) return -1;
    if (probe.length < lineStart + FROM_.length || probe.compare(FROM_, 0, FROM_.length, lineStart, lineStart + FROM_.length) !== 0) return -1;
    const lineEnd = probe.indexOf(NL, lineStart);
    if (lineEnd < 0 || !parseFromLine(probe.subarray(lineStart, lineEnd).toString("latin1"))) return -1;
    return isHeaderLine(probe.subarray(lineEnd + 1, Math.min(lineEnd + 1000, probe.length))) ? end + lineStart : -1;
  }

  /** Does the body [from, to) hold a line starting "From " (so its writer did not quote From_ lines)? */
  private hasBareFromLine(from: number, to: number): boolean {
    // A "From " at `from` counts too: the byte before it is the newline ending the header.
    if (from - 1 >= this.win.start && to <= this.win.end) {
      // The body is in the window already (it reads a megabyte at a time): searched there
      // with the From_ search. A read into a fresh megabyte for every message made auto 70%
      // slower on a Content-Length mbox (30,000 messages: 2.46 s against 1.43 s).
      for (let hit = this.win.indexOfFrom(from, to); hit >= 0; hit = this.win.indexOfFrom(hit + FROM_.length, to)) {
        if (this.win.byte(hit - 1) === NL) return true;
      }
      return false;
    }
    for (let pos = from - 1; pos < to; ) {
      const chunk = this.bytesAt(pos, Math.min(pos + (1 << 20), to));
      if (chunk.length < NL_FROM.length) return false;
      if (chunk.indexOf(NL_FROM) >= 0) return true;
      if (pos + chunk.length >= to) return false;
      pos += chunk.length - (NL_FROM.length - 1);
    }
    return false;
  }
}

/** UW-IMAP's, Pine's and Dovecot's folder-internal pseudo message, by its header (read as Latin-1). */
function isPseudoMessage(text: string): boolean {
  return /^x-imap:/im.test(text) && /^subject:.*FOLDER INTERNAL DATA/im.test(text);
}

import fs from "node:fs";
import { crc32 } from "../util/crc32.js";
import { nativeAddon } from "../util/native.js";

const FROM_ = Buffer.from("From ");
const NL_NL = Buffer.from("\n\n");
const NL_CRLF = Buffer.from("\n\r\n");
const CR = 0x0d;

/** The window's default buffer size. */
export const WINDOW_BYTES = 1 << 20;

/**
 * Where a window takes its buffers from and gives back the ones it moved off. Without one,
 * each move takes a fresh buffer and the old one is left to the garbage collector.
 */
export interface WindowBuffers {
  take(capacity: number): Buffer;
  /** A buffer the window no longer reads or hands out views of. */
  retire(buf: Buffer): void;
}

const FRESH: WindowBuffers = { take: (capacity) => Buffer.allocUnsafe(capacity), retire: () => undefined };

/**
 * A sliding window over a file read with positional reads. Offsets are file offsets.
 * It also keeps a CRC-32 of every byte it lets go of, in file order, so the journal can
 * tell later whether the part of the source already migrated is still the same.
 */
export class FileWindow {
  buf: Buffer;
  /** File offset of buf[0]. */
  start: number;
  /** File offset just past the last byte read. */
  end: number;
  private crc: number;
  private crcTo: number;

  constructor(
    readonly fd: number,
    readonly size: number,
    from = 0,
    crcBefore = 0,
    capacity = WINDOW_BYTES,
    private readonly buffers: WindowBuffers = FRESH,
  ) {
    // No bigger than what is left of the file. A megabyte for each small mailbox is memory
    // V8 counts towards its next full collection: 1,000 mailboxes of 100 KB took 7.6 s of
    // CPU (4.5 s on 2 cores) that way, 5.6 s (3.5 s) with windows their size.
    this.buf = buffers.take(Math.min(capacity, Math.max(size - from, 4096)));
    this.start = from;
    this.end = from;
    this.crc = crcBefore;
    this.crcTo = from;
  }

  /** Retires the buffer: the window reads no more. */
  close(): void {
    this.buffers.retire(this.buf);
  }

  get atEof(): boolean {
    return this.end >= this.size;
  }

  /**
   * Makes [keep, to) available (as far as the file goes), dropping what lies before keep.
   * Moving on takes another buffer instead of shifting bytes within the old one, so a view
   * handed out earlier stays valid (a message still being written on the thread pool): the
   * window never rewrites a buffer once read. The old one is retired to `buffers`, whose
   * owner must not hand it out again while such a view may still be read.
   */
  load(keep: number, to: number): void {
    if (to <= this.end || this.atEof) return;
    const from = Math.max(this.start, Math.min(keep, this.end));
    const need = Math.min(to, this.size) - from;
    if (from > this.start || need > this.buf.length) {
      this.crcThrough(from);
      const capacity = need > this.buf.length ? Math.max(need, this.buf.length * 2) : this.buf.length;
      const fresh = this.buffers.take(capacity);
      this.buf.copy(fresh, 0, from - this.start, this.end - this.start);
      this.buffers.retire(this.buf);
      this.buf = fresh;
      this.start = from;
    }
    while (this.end < Math.min(to, this.size)) {
      const at = this.end - this.start;
      const want = Math.min(this.buf.length - at, this.size - this.end);
      const got = fs.readSync(this.fd, this.buf, at, want, this.end);
      if (got === 0) throw new Error(`file shrank while being read (expected ${this.size} bytes, ended at ${this.end})`);
      this.end += got;
    }
  }

  /** CRC-32 of the file's bytes [0, offset); offset must not lie before what was already summed. */
  crcThrough(offset: number): number {
    if (offset > this.crcTo) {
      this.crc = crc32(this.view(this.crcTo, offset), this.crc);
      this.crcTo = offset;
    }
    return this.crc;
  }

  byte(offset: number): number {
    return offset >= this.start && offset < this.end ? this.buf[offset - this.start] : -1;
  }

  view(from: number, to: number): Buffer {
    return this.buf.subarray(from - this.start, to - this.start);
  }

  indexOf(needle: Buffer, from: number, to = this.end): number {
    const hit = this.buf.subarray(0, to - this.start).indexOf(needle, from - this.start);
    return hit < 0 ? -1 : hit + this.start;
  }

  /**
   * Just past the first blank line ("\n\n" or "\n\r\n") in [from, to), or null: by the native
   * search where the addon is built (one pass for both), else by indexOf, the CRLF form only
   * before the LF one (an LF file would be scanned to `to`).
   */
  blankLineEnd(from: number, to: number): number | null {
    const native = nativeAddon();
    if (native) {
      const blank = native.blankLine(this.buf, from - this.start, to - this.start, 3);
      // The blank line is "\n" or "\r\n".
      return blank < 0 ? null : this.start + blank + (this.buf[blank] === CR ? 2 : 1);
    }
    const lf = this.indexOf(NL_NL, from, to);
    const crlf = this.indexOf(NL_CRLF, from, lf >= 0 ? lf + 3 : to);
    if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 3;
    return lf >= 0 ? lf + 2 : null;
  }

  /** indexOf("From ", from, to), by the native search where the addon is built. */
  indexOfFrom(from: number, to = this.end): number {
    const native = nativeAddon();
    if (!native) return this.indexOf(FROM_, from, to);
    const hit = native.findFrom(this.buf, from - this.start, to - this.start);
    return hit < 0 ? -1 : hit + this.start;
  }
}

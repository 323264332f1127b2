import { nativeAddon } from "../util/native.js";

/** A Content-Length line of a header block read as Latin-1 (multiline: a line ends at LF or CR). */
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*\r?$/gim;

const found = new Float64Array(16);
const NONE: readonly number[] = [];

/**
 * The values of a header block's Content-Length lines, in order (a message can carry a stale
 * one above the one its mbox writer added). Native where the addon is (native/content-length.c,
 * no string of the header made); the same values either way, a test holds them to it.
 */
export function contentLengths(header: Buffer): readonly number[] {
  const addon = nativeAddon();
  if (!addon) return contentLengthsByPattern(header);
  const count = addon.contentLengths(header, found);
  if (count === 0) return NONE;
  return count <= found.length ? Array.from(found.subarray(0, count)) : contentLengthsByPattern(header);
}

/** The same by the pattern, over the header as a string. */
export function contentLengthsByPattern(header: Buffer): number[] {
  const text = header.toString("latin1");
  const values: number[] = [];
  CONTENT_LENGTH.lastIndex = 0;
  // More than 15 digits: past the end of any file, whatever Number() would round them to.
  for (let m = CONTENT_LENGTH.exec(text); m; m = CONTENT_LENGTH.exec(text)) values.push(m[1].length > 15 ? Number.POSITIVE_INFINITY : Number(m[1]));
  return values;
}

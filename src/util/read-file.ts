import { createHash } from "node:crypto";
import fs from "node:fs";

/**
 * Opens a file for reading, never through a symlink unless `follow`, and without waiting: a
 * FIFO where a file was expected (put there by mistake, or swapped in between a listing and
 * the open) would block a plain open until some writer came along, and the whole run with
 * it. With O_NONBLOCK the open returns at once; then a type check refuses it, or a read of
 * it finds nothing (no writer) or fails (EAGAIN). On regular files the flag changes nothing.
 */
export function openForReading(file: string, opts: { follow?: boolean } = {}): number {
  return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (opts.follow ? 0 : fs.constants.O_NOFOLLOW));
}

/** A file's whole text, opened as openForReading does. */
export function readTextFile(file: string, encoding: BufferEncoding): string {
  const fd = openForReading(file);
  try {
    return fs.readFileSync(fd, encoding);
  } finally {
    fs.closeSync(fd);
  }
}

/** sha256OfFile's read buffer, made once: a fresh megabyte a file made verify without a journal (which digests every file) take 18-24 s and 520 MB on 300,000 messages, not 10-11 s and 198 MB. */
let chunk: Buffer | null = null;

/** SHA-256 of a file's bytes (hex unless asked), read a megabyte at a time. */
export function sha256OfFile(file: string, encoding: "hex" | "base64" = "hex"): string {
  const hash = createHash("sha256");
  const fd = openForReading(file);
  const buf = (chunk ??= Buffer.allocUnsafe(1 << 20));
  try {
    for (let got = fs.readSync(fd, buf); got > 0; got = fs.readSync(fd, buf)) hash.update(buf.subarray(0, got));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest(encoding);
}

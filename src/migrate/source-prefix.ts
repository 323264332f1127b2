import fs from "node:fs";
import { crc32 } from "../util/crc32.js";
import type { MessageRow } from "./journal.js";

/** The source's bytes before a journaled message's end are not those that were migrated. */
export class SourceChangedError extends Error {}

export function crcOfPrefix(fd: number, length: number): number {
  const chunk = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  for (let pos = 0; pos < length; ) {
    const got = fs.readSync(fd, chunk, 0, Math.min(chunk.length, length - pos), pos);
    if (got === 0) break;
    crc = crc32(chunk.subarray(0, got), crc);
    pos += got;
  }
  return crc;
}

/** Whether the source (of `size` bytes) still holds, up to this message's end, what was migrated. */
export function prefixUnchanged(fd: number, size: number, row: MessageRow): boolean {
  return row.end <= size && crcOfPrefix(fd, row.end) === row.crc;
}

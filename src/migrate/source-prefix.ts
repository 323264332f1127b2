import fs from "node:fs";
import { crc32 } from "../util/crc32.js";
import type { MessageRow, SourceIdentity, SourceRow } from "./journal.js";

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

/**
 * Where a run goes on with a source its journal knows, once the last batch is settled and
 * `last` is the last message delivered: null for a source migrated whole and untouched since,
 * else the byte and sequence number to continue from. A source whose migrated bytes are no
 * longer the same is refused (unless `prefixChecked`: restoring lost links read it already).
 * The run (deliver) and the dry run (plan.ts) decide by this alike.
 */
export function resumeAfter(known: SourceRow, last: MessageRow | undefined, source: { fd: number; size: number; identity: SourceIdentity }, maildir: string, prefixChecked = false): { from: number; crcBefore: number; seq: number } | null {
  if (known.state === "done" && sameIdentity(known.identity, source.identity)) return null;
  if (!last) return { from: 0, crcBefore: 0, seq: 0 };
  if (!prefixChecked && !prefixUnchanged(source.fd, source.size, last)) throw changedSinceError(last.seq + 1, last, maildir);
  return { from: last.end, crcBefore: last.crc, seq: last.seq + 1 };
}

/** The refusal of a source whose migrated messages are no longer the same bytes. */
function changedSinceError(previous: number, last: MessageRow, maildir: string): SourceChangedError {
  return new SourceChangedError(
    `changed since ${previous} message(s) were migrated from it (the first ${last.end} bytes are no longer the same); refusing to continue. mailstore verify shows what differs. To migrate the user again from scratch, move ${maildir} aside first (without its journal a run would deliver every message again beside the copies already there), or migrate the source into a folder of its own (--folder NAME)`,
  );
}

/** What tells an unchanged source from a touched one: its file, size and times. */
export function identityOf(fd: number): SourceIdentity {
  const st = fs.fstatSync(fd, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

function sameIdentity(a: SourceIdentity | null, b: SourceIdentity): boolean {
  return a !== null && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

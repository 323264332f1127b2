import fs from "node:fs";
import type { FolderWriter, StagedMessage } from "../maildir/delivery.js";
import { type MboxFormat, MboxReader } from "../mbox/reader.js";
import { bootId } from "../util/boot-id.js";
import type { Journal, MessageRow, SourceRow } from "./journal.js";
import { receivedTime } from "./message-step.js";
import { prefixUnchanged, SourceChangedError } from "./source-prefix.js";
import { tmpPrefixOf } from "./task.js";

export interface OpenSource {
  fd: number;
  format: MboxFormat;
  size: number;
  mtime: Date;
}

/**
 * Before a source's pending batch is settled: if the machine may have restarted since the run
 * that left it (another boot id, or none recorded), puts back its holes (Journal.holes).
 * Returns how many; with no restart a hole is a removal, and 0 is returned.
 */
export async function restoreLostLinks(journal: Journal, known: SourceRow, inPlace: (row: MessageRow) => boolean, source: OpenSource, writer: FolderWriter): Promise<number> {
  if (known.boot !== null && known.boot === bootId()) return 0;
  const { holes, lastInPlace } = journal.holes(known.id, inPlace);
  if (holes.length === 0 || !lastInPlace) return 0;
  const tmpPrefix = tmpPrefixOf(known.id);
  writer.removeStale(tmpPrefix);
  await restoreHoles(source, writer, tmpPrefix, holes, lastInPlace);
  return holes.length;
}

/**
 * Puts back the messages of a batch cut off by a restart whose files are missing while a
 * later file of the batch is in place (Journal.holes), before the batch is settled by its
 * last file in place. Each is read again from the source, whose bytes up to that last file
 * must be unchanged, and must frame as journaled (same offset, end and size); it is written
 * to tmp/, flushed, and moved into place under its journaled name, so the Maildir is what
 * an uninterrupted run would have left. A message that someone removed between the cut and
 * the restart comes back too: an expunged message returning beats a lost one.
 * Nothing is put in place unless every hole reads back as journaled.
 */
export async function restoreHoles(source: OpenSource, writer: FolderWriter, tmpPrefix: string, holes: MessageRow[], lastInPlace: MessageRow): Promise<void> {
  if (holes.length === 0) return;
  if (!prefixUnchanged(source.fd, source.size, lastInPlace)) {
    throw new SourceChangedError(
      `changed while ${holes.length} message(s) of an interrupted batch are missing from the Maildir (the first ${lastInPlace.end} bytes are no longer the same); refusing to continue. mailstore verify shows what differs`,
    );
  }
  const wanted = new Map(holes.map((row) => [row.offset, row]));
  const staged: StagedMessage[] = [];
  try {
    // One reader over the batch's stretch of the source: the holes are in it, in order.
    const reader = new MboxReader(source.fd, source.format, { size: source.size, from: holes[0].offset });
    for (let next = reader.nextMessage(); next && wanted.size > 0; next = reader.nextMessage()) {
      const row = wanted.get(next.message.offset);
      const content = next.content();
      if (!row) {
        while (!content.next().done);
        continue;
      }
      wanted.delete(row.offset);
      const mtime = receivedTime(next.message.envelope.date, next.message.header, source.mtime);
      const tmpName = `${tmpPrefix}${row.seq}`;
      const out = writer.open(tmpName);
      staged.push({ tmpName, finalName: row.name, subdir: row.subdir, fd: -1 });
      let size = 0;
      let step = content.next();
      try {
        for (; !step.done; step = content.next()) {
          writer.write(out, step.value);
          size += step.value.length;
        }
      } finally {
        writer.close(out, mtime);
      }
      if (size !== row.size || step.value.end !== row.end) {
        throw new Error(`message ${row.seq + 1} (at byte ${row.offset}) reads back as ${size} bytes ending at ${step.value.end}, not the ${row.size} ending at ${row.end} the journal holds; nothing restored`);
      }
    }
    const lost = [...wanted.values()][0];
    if (lost) throw new Error(`message ${lost.seq + 1} of the journal no longer starts at byte ${lost.offset} of the source; nothing restored`);
    await writer.flush(staged);
    await writer.publish(staged);
  } catch (err) {
    for (const m of staged) fs.rmSync(writer.tmpPath(m.tmpName), { force: true });
    throw err;
  }
}

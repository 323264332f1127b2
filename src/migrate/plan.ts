import fs from "node:fs";
import path from "node:path";
import { baseOf } from "../maildir/names.js";
import { type MessageListing, messageFiles } from "../maildir/message-listing.js";
import { UidNumbering } from "../maildir/uidlist.js";
import { type MessageUids, MboxUids, UID_FIELDS } from "../mbox/imap-uids.js";
import { MboxReader } from "../mbox/reader.js";
import { headerValuesOf } from "../util/rfc5322.js";
import { Journal, JOURNAL_FILE } from "./journal.js";
import { identityOf, resumeAfter } from "./source-prefix.js";
import type { MailboxResult, MailboxTask, MigrateOptions, ProgressFn } from "./task.js";

/**
 * A dry run of one mailbox: what a real run would deliver, read from the source and the
 * journal and written nowhere. A source migrated whole and untouched is "unchanged"; one that
 * grew is planned from where the run would go on (its earlier messages in `previous`); one
 * changed under its migrated messages fails as the run would.
 */
export function planMailbox(task: MailboxTask, fd: number, opts: MigrateOptions, maildir: string, folderDir: string, result: MailboxResult, progress: ProgressFn): void {
  const start = resumePoint(task, fd, maildir, folderDir, result);
  if (start === null) {
    result.status = "unchanged";
    return;
  }
  const reader = new MboxReader(fd, opts.format, { size: fs.fstatSync(fd).size, from: start.from, crcBefore: start.crcBefore });
  // What a dovecot-uidlist would carry: counted as the messages pass, none of them kept. A
  // resumed source's is made from its journal by the run (carry-uids.ts), not planned here.
  const uids = start.from === 0 ? new MboxUids() : null;
  const numbering = new UidNumbering();
  // The bytes before `from` count as read, as a real run credits them.
  let last = 0;
  for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
    if (next.message.pseudo) uids?.pseudo(next.message.header);
    else if (uids) {
      const found: MessageUids = {};
      uids.read(found, headerValuesOf(next.message.header, UID_FIELDS, { latin1: true }), 0, result.messages === 0);
      numbering.add(found);
    }
    const content = next.content();
    let bytes = 0;
    let step = content.next();
    for (; !step.done; step = content.next()) bytes += step.value.length;
    if (next.message.pseudo) result.skippedPseudo++;
    else {
      result.messages++;
      result.bytes += bytes;
    }
    if (step.value.truncated) result.warnings.push(`the last message (at byte ${next.message.offset}) ends without a newline: it may have been cut short`);
    progress(step.value.end - last, 1);
    last = step.value.end;
  }
  noteFallbacks(reader, result);
  if (numbering.carries) result.uids = { validity: numbering.validity, carried: numbering.carried, renumbered: numbering.renumbered };
  result.status = "planned";
}

/**
 * Where a run would start reading the source, as deliver() decides it after settling an
 * interrupted batch, but with the journal opened read-only: null for a source migrated whole
 * and untouched since. Sets result.previous to the messages delivered before.
 */
function resumePoint(task: MailboxTask, fd: number, maildir: string, folderDir: string, result: MailboxResult): { from: number; crcBefore: number } | null {
  const fresh = { from: 0, crcBefore: 0 };
  if (!fs.existsSync(path.join(maildir, JOURNAL_FILE))) return fresh;
  const journal = new Journal(maildir, { durable: false, readonly: true });
  try {
    const known = journal.source(path.resolve(task.source), task.folder ?? "INBOX");
    if (!known) return fresh;
    let inPlace: MessageListing | undefined;
    const last = journal.lastIfSettled(known.id, (row) => (inPlace ??= messageFiles(folderDir)).has(baseOf(row.name)));
    result.previous = last ? last.seq + 1 : 0;
    return resumeAfter(known, last, { fd, size: fs.fstatSync(fd).size, identity: identityOf(fd) }, maildir);
  } finally {
    journal.close();
  }
}

export function noteFallbacks(reader: MboxReader, result: MailboxResult): void {
  if (reader.clFallbacks > 0) {
    result.warnings.push(`${reader.clFallbacks} message(s) had no Content-Length that ends on a message boundary; framed by From_ lines instead`);
  }
}

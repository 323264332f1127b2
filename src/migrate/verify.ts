import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { baseOf } from "../maildir/names.js";
import { type MessageListing, messageFiles } from "../maildir/message-listing.js";
import type { MessageFile } from "../maildir/scan.js";
import { MboxReader } from "../mbox/reader.js";
import { openForReading, sha256OfFile } from "../util/read-file.js";
import { JOURNAL_FILE, Journal, type MessageRow } from "./journal.js";
import { checkUids, type UidsCheck } from "./verify-uids.js";
import { type MailboxTask, type MigrateOptions, openSource, type ProgressFn, reportFailure, resolveTarget, resultBase } from "./mailbox.js";

export interface VerifyResult {
  user: string;
  source: string;
  folder: string;
  target: string;
  status: "ok" | "differs" | "failed";
  sourceMessages: number;
  maildirMessages: number;
  /** Source messages with no copy in the Maildir: 1-based number and byte offset. */
  missing: Array<{ message: number; offset: number }>;
  /** Maildir files that are no source message ("new/..." or "cur/..."). */
  extra: string[];
  /** Source messages whose journaled file holds other bytes. */
  different: Array<{ message: number; offset: number; file: string }>;
  /**
   * Where the source stops being what was migrated from it (the first journaled message whose
   * bytes up to its end changed, or the source's end if it lost its last ones): from there,
   * messages are matched by content only. Absent while it is unchanged (or only grew).
   */
  sourceChangedAt?: number;
  /**
   * Of the missing messages, those past what was migrated from an otherwise unchanged source:
   * mail delivered to it since, or a migration not finished. The next migrate adds them.
   */
  notYetMigrated?: number;
  /**
   * The folder's directory does not exist: the mailbox was not migrated, or under another
   * --root or --fanout (every source message is then missing).
   */
  noMaildir?: true;
  /** Where migrate carried the source's IMAP UIDs or POP3 UIDLs: what the folder's dovecot-uidlist says now. */
  uids?: UidsCheck;
  seconds: number;
  error?: string;
}

/** A source message the journal does not pair with a file (or no longer can): matched by content afterwards. */
interface Leftover {
  seq: number;
  offset: number;
  /** SHA-256 of its bytes, base64. */
  digest: string;
}

export function emptyVerifyResult(task: MailboxTask): VerifyResult {
  return {
    ...resultBase(task),
    sourceMessages: 0,
    maildirMessages: 0,
    missing: [],
    extra: [],
    different: [],
    seconds: 0,
  };
}

/**
 * Re-reads the source and the Maildir folder and compares them message by message, by
 * content. The journal pairs a source message with its file, so a file whose bytes changed
 * shows as "different"; without a journal, copies are matched by content alone.
 * Files the journal gives to another source sharing the folder are not counted as extra.
 */
export async function verifyMailbox(task: MailboxTask, opts: MigrateOptions, progress: ProgressFn = () => undefined): Promise<VerifyResult> {
  const result = emptyVerifyResult(task);
  return reportFailure(task.source, result, () => {
    const { maildir, folderDir } = resolveTarget(task, opts);
    result.target = folderDir;
    if (!fs.existsSync(folderDir)) result.noMaildir = true;
    compare(task, opts, maildir, folderDir, result, progress);
    const uids = checkUids(maildir, folderDir, task.source, result.folder);
    if (uids) result.uids = uids;
    const uidsDiffer = uids !== null && (uids.listValidity !== uids.validity || uids.wrong.length > 0);
    result.status = result.missing.length + result.extra.length + result.different.length === 0 && !uidsDiffer ? "ok" : "differs";
  });
}

/**
 * Compares the source with the folder in one pass over the source: a message the journal
 * pairs with a file present is compared with it byte for byte as it is read (no digests kept),
 * and that file is crossed off. What is held for the whole mailbox is the folder's listing
 * (a MessageListing: ~80 bytes a file), and the messages the journal does
 * not pair (none after a complete migration; all of them without a journal), which are
 * matched by content at the end. A mailbox of 300,000 messages took 476 MB when every
 * message's and every file's digest was kept.
 */
function compare(task: MailboxTask, opts: MigrateOptions, maildir: string, folderDir: string, result: VerifyResult, progress: ProgressFn): void {
  // Files in the folder, by base name (flags in the name may have changed since delivery).
  const files = messageFiles(folderDir);
  result.maildirMessages = files.size;

  const journal = fs.existsSync(path.join(maildir, JOURNAL_FILE)) ? new Journal(maildir, { durable: false, readonly: true }) : null;
  try {
    // Files the journal gives to another source sharing the folder are not this source's extras.
    const otherSources = new Set<string>();
    let ours: Generator<MessageRow> | undefined;
    for (const src of journal?.sources() ?? []) {
      if (src.folder !== result.folder) continue;
      const rows = (journal as Journal).deliveredRows(src.id);
      if (src.path === path.resolve(task.source)) ours = rows;
      else for (const row of rows) otherSources.add(baseOf(row.name));
    }
    let row = ours?.next();
    const journaled = (seq: number) => {
      while (ours && row && !row.done && row.value.seq < seq) row = ours.next();
      return row && !row.done && row.value.seq === seq ? row.value : undefined;
    };

    const leftovers: Leftover[] = [];
    const renamed: Array<Leftover & { base: string }> = [];
    /** Source messages up to the last one the journal has a row for. */
    let journaledMessages = 0;
    const fd = openSource(task.source, opts.followSymlinks);
    try {
      const reader = new MboxReader(fd, opts.format);
      let position = 0;
      let seq = 0;
      for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
        const content = next.content();
        let end: ContentEnd;
        if (next.message.pseudo) end = drain(content);
        else {
          const journaledRow = journaled(seq);
          const base = journaledRow && baseOf(journaledRow.name);
          const file = base === undefined || otherSources.has(base) ? undefined : files.get(base);
          const fileFd = file ? openIfPresent(path.join(folderDir, relOf(file))) : null;
          const { offset } = next.message;
          // The journal's pairing holds while the source is, up to this message's end, what was
          // migrated from it (the row's CRC is of every byte before that end). Once it is not (a
          // POP3 client deleted a message since), a file of other bytes proves nothing: it
          // stays in the listing and the message is matched by content, so a lost message
          // shows as one extra file instead of every later message as different.
          const pairingHolds = (e: ContentEnd) => journaledRow?.offset === offset && journaledRow.end === e.end && journaledRow.crc === e.crc;
          if (file && fileFd !== null) {
            const compared = compareWithFile(fileFd, content);
            end = compared.end;
            if (compared.digest === undefined) files.delete(file.base);
            else if (pairingHolds(end)) {
              files.delete(file.base);
              result.different.push({ message: seq + 1, offset, file: relOf(file) });
            } else leftovers.push({ seq, offset, digest: compared.digest });
          } else {
            const hash = createHash("sha256");
            end = drain(content, (piece) => hash.update(piece));
            const leftover = { seq, offset, digest: hash.digest("base64") };
            // Renamed since the listing (a mail client read or flagged it): looked up again at the end.
            if (file && pairingHolds(end)) {
              files.delete(file.base);
              renamed.push({ ...leftover, base: file.base });
            } else leftovers.push(leftover);
          }
          if (journaledRow && result.sourceChangedAt === undefined && !pairingHolds(end)) result.sourceChangedAt = offset;
          if (journaledRow) journaledMessages = seq + 1;
          seq++;
        }
        progress(end.end - position, 1);
        position = end.end;
      }
      result.sourceMessages = seq;
      if (result.sourceChangedAt === undefined && journaled(seq)) result.sourceChangedAt = position;
    } finally {
      fs.closeSync(fd);
    }
    const now = new ListingNow(folderDir);
    compareRenamed(folderDir, renamed, now, result);
    matchByContent(folderDir, leftovers, files, otherSources, now, result);
    // In source order, whichever pass found them.
    result.missing.sort((a, b) => a.message - b.message);
    result.different.sort((a, b) => a.message - b.message);
    const pastJournal = result.missing.filter((m) => m.message > journaledMessages).length;
    if (ours && result.sourceChangedAt === undefined && pastJournal > 0) result.notYetMigrated = pastJournal;
    result.extra = asNamedNow(folderDir, [...files.values()].filter((f) => !otherSources.has(f.base)), now).map(relOf).sort();
  } finally {
    journal?.close();
  }
}

/** A file's name relative to its folder, as verify reports it. */
const relOf = (file: MessageFile) => `${file.subdir}/${file.name}`;

type Content = ReturnType<NonNullable<ReturnType<MboxReader["nextMessage"]>>["content"]>;
type ContentEnd = Extract<ReturnType<Content["next"]>, { done: true }>["value"];

function drain(content: Content, each?: (piece: Buffer) => void): ContentEnd {
  let step = content.next();
  for (; !step.done; step = content.next()) each?.(step.value);
  return step.value;
}

/** Reused by every comparison: a file is read in pieces no larger than the message's own. */
const scratch = Buffer.allocUnsafe(1 << 20);

/** A message file opened for reading; null if it is no longer there. */
function openIfPresent(file: string): number | null {
  try {
    return openForReading(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * Reads a message to its end, comparing it with the bytes of a file (open on `fd`, closed
 * here) as it goes. Where they differ, the message's digest (for matchByContent): the bytes
 * before the first piece that differed are the file's, read again, and the rest are hashed
 * as they come, so a message that matches costs no digest.
 */
function compareWithFile(fd: number, content: Content): { digest?: string; end: ContentEnd } {
  try {
    let at = 0;
    let hash: Hash | null = null;
    const end = drain(content, (piece) => {
      for (let done = 0; !hash && done < piece.length; ) {
        const got = fs.readSync(fd, scratch, 0, Math.min(scratch.length, piece.length - done), at + done);
        if (got === 0 || !scratch.subarray(0, got).equals(piece.subarray(done, done + got))) hash = hashOfPrefix(fd, at);
        done += got;
      }
      hash?.update(piece);
      at += piece.length;
    });
    // The file must end where the message does.
    if (!hash && fs.readSync(fd, scratch, 0, 1, at) !== 0) hash = hashOfPrefix(fd, at);
    // (TypeScript does not see the callback's assignments: hash is not always null here.)
    return { digest: (hash as Hash | null)?.digest("base64"), end };
  } finally {
    fs.closeSync(fd);
  }
}

/** A SHA-256 fed the first `length` bytes of the file open on `fd`. */
function hashOfPrefix(fd: number, length: number): Hash {
  const hash = createHash("sha256");
  for (let at = 0; at < length; ) {
    const got = fs.readSync(fd, scratch, 0, Math.min(scratch.length, length - at), at);
    if (got === 0) throw new Error("a message file shrank while it was compared");
    hash.update(scratch.subarray(0, got));
    at += got;
  }
  return hash;
}

/**
 * The folder listed again, once, by the first pass after the source's that finds a file
 * renamed (a mail client read or flagged it) or gone since the first listing; the passes
 * after it look up theirs in the same listing.
 */
class ListingNow {
  private listing: MessageListing | undefined;

  constructor(private readonly folderDir: string) {}

  get(base: string): MessageFile | undefined {
    this.listing ??= messageFiles(this.folderDir);
    return this.listing.get(base);
  }
}

/**
 * The files under the names they have now: a mail client may have renamed one (flags) or
 * expunged it since the folder was listed. The folder is listed again only if one is gone.
 */
function asNamedNow(folderDir: string, listed: MessageFile[], now: ListingNow): MessageFile[] {
  const named: MessageFile[] = [];
  for (const file of listed) {
    if (fs.existsSync(path.join(folderDir, relOf(file)))) named.push(file);
    else {
      const renamed = now.get(file.base);
      if (renamed) named.push(renamed);
    }
  }
  return named;
}

/**
 * Messages whose file was renamed (or removed) between the listing and their turn: found by
 * base name in the folder as listed now, and compared by digest; gone, they are missing.
 */
function compareRenamed(folderDir: string, renamed: Array<Leftover & { base: string }>, now: ListingNow, result: VerifyResult): void {
  for (const msg of renamed) {
    const file = now.get(msg.base);
    if (!file) result.missing.push({ message: msg.seq + 1, offset: msg.offset });
    else if (sha256OfFile(path.join(folderDir, relOf(file)), "base64") !== msg.digest) result.different.push({ message: msg.seq + 1, offset: msg.offset, file: relOf(file) });
  }
}

/**
 * Pairs the messages the journal did not with the files left, by content; what finds no file
 * is missing. The files left are read only if some message is still unpaired.
 */
function matchByContent(folderDir: string, leftovers: Leftover[], files: MessageListing, otherSources: Set<string>, now: ListingNow, result: VerifyResult): void {
  if (leftovers.length === 0) return;
  const byDigest = new Map<string, string[]>();
  for (const file of files.values()) {
    if (otherSources.has(file.base)) continue;
    let digest: string;
    try {
      digest = sha256OfFile(path.join(folderDir, relOf(file)), "base64");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // Renamed since the listing (a mail client read or flagged it), or expunged: read
      // under its name now, if it still has one.
      const renamed = now.get(file.base);
      if (!renamed) {
        files.delete(file.base);
        continue;
      }
      digest = sha256OfFile(path.join(folderDir, relOf(renamed)), "base64");
    }
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), file.base]);
  }
  for (const msg of leftovers) {
    const base = byDigest.get(msg.digest)?.pop();
    if (base !== undefined) files.delete(base);
    else result.missing.push({ message: msg.seq + 1, offset: msg.offset });
  }
}

import fs from "node:fs";
import path from "node:path";
import type { FedMessage } from "../index/appender.js";
import { ensureDirUnder, ensureMaildir } from "../maildir/dirs.js";
import { FolderWriter } from "../maildir/delivery.js";
import { KeywordTable } from "../maildir/keywords.js";
import { folderDirName, folderNameProblem, userMaildir, userNameProblem } from "../maildir/layout.js";
import { baseOf, NameGenerator } from "../maildir/names.js";
import { type MessageListing, messageFiles } from "../maildir/message-listing.js";
import { lockSource } from "../mbox/lock.js";
import { MboxReader } from "../mbox/reader.js";
import { openForReading } from "../util/read-file.js";
import { Batches, DEFAULT_LIMITS, TAIL_CUT_MIN_BYTES } from "./batches.js";
import { carryUids } from "./carry-uids.js";
import { DeliveryIndex, fillIndex } from "./fill-index.js";
import { Journal, JOURNAL_FILE, type MessageRow } from "./journal.js";
import { MessageStep } from "./message-step.js";
import { noteFallbacks, planMailbox } from "./plan.js";
import { ReusedWindows } from "./reused-windows.js";
import { restoreLostLinks } from "./restore-holes.js";
import { identityOf, resumeAfter } from "./source-prefix.js";
import { emptyMailboxResult, feedMinBytes, localFeedMinBytes, type MailboxResult, type MailboxTask, type MigrateOptions, type ProgressFn, tmpPrefixOf } from "./task.js";

export { emptyMailboxResult, type MailboxResult, type MailboxStatus, type MailboxTask, type MigrateOptions, type ProgressFn, resultBase } from "./task.js";

export { SourceChangedError } from "./source-prefix.js";

/** The user's Maildir and the folder's directory in it; throws on names that cannot be paths. */
export function resolveTarget(task: MailboxTask, opts: Pick<MigrateOptions, "root" | "fanout">): { maildir: string; folderDir: string } {
  const problem = userNameProblem(task.user) ?? (task.folder ? folderNameProblem(task.folder) : null);
  if (problem) throw new Error(problem);
  const maildir = userMaildir(opts.root, task.user, opts.fanout);
  return { maildir, folderDir: path.join(maildir, folderDirName(task.folder)) };
}

/** Runs one mailbox's work; any error becomes a failed result naming the source. */
export async function reportFailure<R extends { status: string; error?: string; seconds: number }>(source: string, result: R, work: () => Promise<void> | void): Promise<R> {
  const started = Date.now();
  try {
    await work();
  } catch (err) {
    result.status = "failed";
    result.error = `${source}: ${(err as Error).message}`;
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export async function migrateMailbox(task: MailboxTask, opts: MigrateOptions, progress: ProgressFn = () => undefined): Promise<MailboxResult> {
  const result = emptyMailboxResult(task);
  return reportFailure(task.source, result, async () => {
    const { maildir, folderDir } = resolveTarget(task, opts);
    result.target = folderDir;
    await runMailbox(task, opts, maildir, folderDir, result, progress);
    if (opts.index !== false && !opts.dryRun && result.indexed === undefined) await fillIndex(maildir, result);
  });
}

/** Opens a source read-only; a symlink only when asked to follow it. */
export function openSource(source: string, follow: boolean): number {
  const st = fs.lstatSync(source);
  if (st.isSymbolicLink() && !follow) throw new Error("is a symlink; refusing to follow it (use --follow-symlinks)");
  const fd = openForReading(source, { follow });
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new Error("is not a regular file");
  }
  return fd;
}

async function runMailbox(task: MailboxTask, opts: MigrateOptions, maildir: string, folderDir: string, result: MailboxResult, progress: ProgressFn): Promise<void> {
  const fd = openSource(task.source, opts.followSymlinks);
  try {
    if (opts.dryRun) {
      planMailbox(task, fd, opts, maildir, folderDir, result, progress);
      return;
    }
    const lock = await lockSource(task.source, fd, opts.lockTimeoutMs);
    if (lock.warning) result.warnings.push(lock.warning);
    try {
      await deliver(task, fd, opts, maildir, folderDir, result, progress);
    } finally {
      await lock.release();
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** What the first look at a new source reads (its From_ line and header; the window grows for a longer one). */
const FIRST_LOOK_BYTES = 64 * 1024;

async function deliver(task: MailboxTask, fd: number, opts: MigrateOptions, maildir: string, folderDir: string, result: MailboxResult, progress: ProgressFn): Promise<void> {
  const st = fs.fstatSync(fd);
  const owner = opts.owner ?? (process.getuid?.() === 0 ? { uid: st.uid, gid: st.gid } : undefined);
  const identity = identityOf(fd);
  // A first run on a file that is not an mbox fails before anything is created for it.
  if (!fs.existsSync(folderDir) || !fs.existsSync(path.join(maildir, JOURNAL_FILE))) new MboxReader(fd, opts.format, { size: st.size, windowBytes: FIRST_LOOK_BYTES }).nextMessage();
  fs.mkdirSync(opts.root, { recursive: true, mode: 0o711 });
  ensureDirUnder(opts.root, path.dirname(maildir));
  ensureMaildir(opts.root, maildir, { owner, ownedFrom: maildir, subfolder: false });
  if (folderDir !== maildir) ensureMaildir(opts.root, folderDir, { owner, ownedFrom: maildir, subfolder: true });

  const journal = new Journal(maildir, { durable: opts.sync === "durable" });
  let index: DeliveryIndex | null = null;
  let batches: Batches<FedMessage> | null = null;
  let windows: ReusedWindows | null = null;
  try {
    const sourceKey = path.resolve(task.source);
    const folderKey = task.folder ?? "INBOX";
    const writer = new FolderWriter(folderDir, { owner, sync: opts.sync });
    const known = journal.source(sourceKey, folderKey);
    let from = 0;
    let crcBefore = 0;
    let seq = 0;
    if (known) {
      let inPlace: MessageListing | undefined;
      const isInPlace = (row: MessageRow) => (inPlace ??= messageFiles(folderDir)).has(baseOf(row.name));
      const restored = await restoreLostLinks(journal, known, isInPlace, { fd, format: opts.format, size: st.size, mtime: st.mtime }, writer);
      if (restored > 0) {
        inPlace = undefined;
        result.warnings.push(`${restored} message(s) of a batch interrupted by a restart were missing while later ones were in place (a link the restart lost, or a message removed since); restored under their names`);
      }
      journal.settle(known.id, isInPlace);
      const last = journal.last(known.id);
      result.previous = last ? last.seq + 1 : 0;
      // Restoring checked the source up to the last file in place, which settling kept as
      // the last delivered message: a second read of that prefix would find the same.
      const start = resumeAfter(known, last, { fd, size: st.size, identity }, maildir, restored > 0);
      if (!start) {
        result.status = "unchanged";
        return;
      }
      ({ from, crcBefore, seq } = start);
    }
    const sourceId = journal.start(sourceKey, folderKey);
    const tmpPrefix = tmpPrefixOf(sourceId);
    writer.removeStale(tmpPrefix);

    const names = new NameGenerator();
    const keywords = new KeywordTable(folderDir);
    // A large source is indexed as it is delivered, by the feed thread where a core is free
    // for it; a mid-size one by this thread, the smallest by a scan afterwards (see task.ts).
    const left = st.size - from;
    const large = left >= feedMinBytes();
    const fed = opts.index !== false && (large || left >= localFeedMinBytes());
    index = fed ? await DeliveryIndex.start(maildir, folderDir, names.mark, !(large && opts.feedThread !== false)) : null;
    batches = new Batches(
      writer,
      journal,
      sourceId,
      { beforePublish: () => keywords.save(owner), afterPublish: index ? (fed) => (index as DeliveryIndex).published(fed) : undefined },
      { ...DEFAULT_LIMITS, messages: opts.batchMessages ?? DEFAULT_LIMITS.messages, groupMessages: opts.groupMessages ?? DEFAULT_LIMITS.groupMessages, sourceEnd: left >= TAIL_CUT_MIN_BYTES ? st.size : undefined },
    );
    windows = new ReusedWindows(batches);
    const reader = new MboxReader(fd, opts.format, { size: st.size, from, crcBefore, windowBytes: opts.windowBytes, buffers: windows });
    const step = new MessageStep({ writer, batches, names, keywords, tmpPrefix, sourceMtime: st.mtime, headers: index?.headers ?? null, result, progress }, seq, from);
    for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
      const room = batches.writeRoom();
      if (room) await room;
      const cut = step.deliver(next);
      if (cut) await cut;
    }
    reader.close();
    // A resumed source is looked at again even without new X-UIDs: an earlier run may have
    // stopped before it wrote the folder's dovecot-uidlist.
    const uidsToCarry = step.uids.sawAny || result.previous > 0;
    await batches.finish(identity, uidsToCarry ? () => carryUids(journal, sourceId, folderKey, folderDir, result, { owner, flush: opts.sync === "durable", lockWaitMs: opts.lockTimeoutMs }) : undefined);
    noteFallbacks(reader, result);
    if (keywords.dropped.size > 0) result.warnings.push(`more than 26 keywords: not kept as Maildir flags: ${[...keywords.dropped].join(" ")}`);
    await index?.complete(result);
    // A source that was touched (or rewritten with the same bytes) but gained nothing is unchanged.
    result.status = result.previous === 0 ? "migrated" : result.messages > 0 ? "resumed" : "unchanged";
  } finally {
    await batches?.quiesce();
    // Every write has settled: the reader's buffers can serve the next mailbox.
    windows?.release();
    await index?.close();
    journal.close();
  }
}

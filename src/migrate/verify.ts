import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { baseOf } from "../maildir/names.js";
import { messageFiles } from "../maildir/scan.js";
import { MboxReader } from "../mbox/reader.js";
import { sha256OfFile } from "../util/read-file.js";
import { JOURNAL_FILE, Journal } from "./journal.js";
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
  seconds: number;
  error?: string;
}

interface SourceMessage {
  seq: number;
  offset: number;
  digest: string;
}

/**
 * Re-reads the source and the Maildir folder and compares them message by message, by
 * content. The journal pairs a source message with its file, so a file whose bytes changed
 * shows as "different"; without a journal, copies are matched by content alone.
 * Files the journal gives to another source sharing the folder are not counted as extra.
 */
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

export async function verifyMailbox(task: MailboxTask, opts: MigrateOptions, progress: ProgressFn = () => undefined): Promise<VerifyResult> {
  const result = emptyVerifyResult(task);
  return reportFailure(task.source, result, () => {
    const { maildir, folderDir } = resolveTarget(task, opts);
    result.target = folderDir;
    compare(task, opts, maildir, folderDir, result, progress);
    result.status = result.missing.length + result.extra.length + result.different.length === 0 ? "ok" : "differs";
  });
}

function readSource(task: MailboxTask, opts: MigrateOptions, progress: ProgressFn): SourceMessage[] {
  const fd = openSource(task.source, opts.followSymlinks);
  const out: SourceMessage[] = [];
  try {
    const reader = new MboxReader(fd, opts.format);
    let position = 0;
    for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
      const hash = createHash("sha256");
      const content = next.content();
      let step = content.next();
      for (; !step.done; step = content.next()) hash.update(step.value);
      progress(step.value.end - position, 1);
      position = step.value.end;
      if (!next.message.pseudo) out.push({ seq: out.length, offset: next.message.offset, digest: hash.digest("hex") });
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function compare(task: MailboxTask, opts: MigrateOptions, maildir: string, folderDir: string, result: VerifyResult, progress: ProgressFn): void {
  const messages = readSource(task, opts, progress);
  result.sourceMessages = messages.length;

  // Files in the folder, by base name (flags in the name may have changed since delivery).
  const files = new Map<string, { rel: string; digest?: string }>();
  for (const [base, f] of messageFiles(folderDir)) files.set(base, { rel: `${f.subdir}/${f.name}` });
  result.maildirMessages = files.size;
  const digestOf = (base: string) => {
    const file = files.get(base);
    if (!file) return undefined;
    file.digest ??= sha256OfFile(path.join(folderDir, file.rel));
    return file.digest;
  };

  const journaled = new Map<number, string>();
  const otherSources = new Set<string>();
  if (fs.existsSync(path.join(maildir, JOURNAL_FILE))) {
    const journal = new Journal(maildir, { durable: false, readonly: true });
    try {
      const sourceKey = path.resolve(task.source);
      for (const src of journal.sources()) {
        if (src.folder !== result.folder) continue;
        for (const row of journal.delivered(src.id)) {
          if (src.path === sourceKey) journaled.set(row.seq, baseOf(row.name));
          else otherSources.add(baseOf(row.name));
        }
      }
    } finally {
      journal.close();
    }
  }

  const unmatched = new Set([...files.keys()].filter((base) => !otherSources.has(base)));
  const byDigest = new Map<string, string[]>();
  const pool = () => {
    if (byDigest.size === 0) {
      for (const base of unmatched) {
        const d = digestOf(base) as string;
        byDigest.set(d, [...(byDigest.get(d) ?? []), base]);
      }
    }
    return byDigest;
  };
  const take = (base: string) => {
    unmatched.delete(base);
    const list = byDigest.get(files.get(base)?.digest ?? "");
    if (list) list.splice(list.indexOf(base), 1);
  };

  const leftovers: SourceMessage[] = [];
  for (const msg of messages) {
    const base = journaled.get(msg.seq);
    if (base && unmatched.has(base)) {
      if (digestOf(base) === msg.digest) take(base);
      else {
        result.different.push({ message: msg.seq + 1, offset: msg.offset, file: files.get(base)?.rel ?? base });
        take(base);
      }
    } else {
      leftovers.push(msg);
    }
  }
  for (const msg of leftovers) {
    const candidates = pool().get(msg.digest);
    const base = candidates?.find((b) => unmatched.has(b));
    if (base) take(base);
    else result.missing.push({ message: msg.seq + 1, offset: msg.offset });
  }
  result.extra = [...unmatched].map((base) => files.get(base)?.rel ?? base).sort();
}

import type { Owner } from "../maildir/dirs.js";
import type { SyncPolicy } from "../maildir/delivery.js";
import type { Fanout } from "../maildir/layout.js";
import type { MboxFormat } from "../mbox/formats.js";
import { envNumber } from "../util/env.js";

// A migration's task, options and result: what the CLI's main thread needs of a migration
// without loading the code that does it (that runs in worker threads).

export interface MailboxTask {
  source: string;
  user: string;
  /** Maildir++ folder ("Archive/2019"); INBOX when absent. */
  folder?: string;
}

export interface MigrateOptions {
  root: string;
  fanout: Fanout;
  format: MboxFormat;
  sync: SyncPolicy;
  dryRun: boolean;
  followSymlinks: boolean;
  /** Owner of what is created; default (as root): the source file's uid:gid. */
  owner?: Owner;
  lockTimeoutMs: number;
  /** Messages per flushed batch. */
  batchMessages?: number;
  /** Whole messages per write on the thread pool, and the reader's window size (tests set them small). */
  groupMessages?: number;
  windowBytes?: number;
  /** Bring the user's index (mailstore.sqlite) up to date after delivering (default true). */
  index?: boolean;
  /**
   * Whether a large source may be indexed on a feed thread of its own (default true), rather
   * than by the delivering thread: worth it only where a core would otherwise idle (see
   * feedThreadPays).
   */
  feedThread?: boolean;
}

export type MailboxStatus = "migrated" | "resumed" | "unchanged" | "planned" | "failed";

export interface MailboxResult {
  user: string;
  source: string;
  folder: string;
  target: string;
  status: MailboxStatus;
  /** Messages delivered by this run (planned, in a dry run). */
  messages: number;
  /** Bytes delivered by this run (content bytes, as in the Maildir files). */
  bytes: number;
  /** Messages delivered by earlier runs of this source. */
  previous: number;
  skippedPseudo: number;
  seconds: number;
  warnings: string[];
  /** Whether the user's index was brought up to date after this mailbox. */
  indexed?: boolean;
  /** How: filled while delivering (a large source), or by a scan after it. */
  indexedBy?: "delivery" | "scan";
  /**
   * The folder's dovecot-uidlist, written from the source's X-UID/X-IMAPbase/X-UIDL headers:
   * its UIDVALIDITY, how many messages kept their old UID, how many were given a new one.
   */
  uids?: { validity: number; carried: number; renumbered: number };
  error?: string;
}

export type ProgressFn = (bytesRead: number, messages: number) => void;

/** The fields every per-mailbox result starts with: failed until the work says otherwise. */
export function resultBase(task: MailboxTask) {
  return { user: task.user, source: task.source, folder: task.folder ?? "INBOX", target: "", status: "failed" as const };
}

export function emptyMailboxResult(task: MailboxTask): MailboxResult {
  return {
    ...resultBase(task),
    messages: 0,
    bytes: 0,
    previous: 0,
    skippedPseudo: 0,
    seconds: 0,
    warnings: [],
  };
}

/**
 * Sources with at least this much left to read fill their index during delivery on the feed
 * thread (see index/feed.ts); smaller ones are indexed on the delivering thread or by a scan
 * (localFeedMinBytes). Since the rows are made by the addon, the thread (its start, ~15 MB,
 * the hand-over of each batch) costs more than it takes off the delivering thread below a
 * few hundred MB. One mailbox alone, delivering thread against feed thread (6-8 interleaved
 * rounds): 34 MB 0.36 s and 0.41 s on tmpfs, 0.47 s and 0.54 s on ext4; 200 MB 0.81 s and
 * 0.85 s (ext4 1.18 s and 1.22 s); 300 MB 1.10 s both; 500 MB within the noise, the
 * thread's median ahead. MAILSTORE_INDEX_FEED_MIN_BYTES overrides it.
 */
export function feedMinBytes(): number {
  return envNumber("MAILSTORE_INDEX_FEED_MIN_BYTES", 256 * 1024 * 1024);
}

/**
 * Whether the index feed thread pays in a run of `concurrent` mailboxes at a time on `cores`
 * cores: only with a core to spare. Where every core delivers a mailbox, the thread competes
 * with them and the delivering thread is better off feeding its own index: 8 mailboxes of
 * 62 MB with --jobs 2 on 2 cores took 2.03 s with the feed thread, 1.78 s without (tmpfs,
 * 5 interleaved rounds); one mailbox of 500 MB alone, 1.84 s with it, 1.90 s without.
 * MAILSTORE_INDEX_FEED_THREAD=1 or 0 decides it (tests).
 */
export function feedThreadPays(concurrent: number, cores: number): boolean {
  const forced = process.env.MAILSTORE_INDEX_FEED_THREAD;
  if (forced === "1" || forced === "0") return forced === "1";
  return concurrent < cores;
}

/**
 * Sources with at least this much left to read that the feed thread does not serve (smaller
 * than feedMinBytes, or in a run with no core free for it: feedThreadPays) are indexed by the
 * delivering thread itself as each batch is published (index/local-feed.ts), from the header
 * blocks it holds, instead of by a scan that reads every message back afterwards. Measured on
 * tmpfs (5-6 interleaved rounds): 16 mailboxes of 31 MB 2.10 s scanned, 1.83 s fed so; 30 of
 * 4 MB 1.07 s and 1.04 s; 60 of 1 MB the same; 111 of 90 KB 1.08 s scanned, 1.14 s fed (the
 * feed brings the index current twice, at its start and end). MAILSTORE_LOCAL_FEED_MIN_BYTES
 * overrides it.
 */
export function localFeedMinBytes(): number {
  return envNumber("MAILSTORE_LOCAL_FEED_MIN_BYTES", 2 * 1024 * 1024);
}

/** How a source's files staged in tmp/ are named (then its sequence number): what a rerun removes. */
export function tmpPrefixOf(sourceId: number): string {
  return `mailstore.${sourceId}.`;
}

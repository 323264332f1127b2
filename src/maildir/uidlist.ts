import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FolderBase, MessageUids } from "../mbox/imap-uids.js";
import { nativeAddon } from "../util/native.js";
import { type Owner, fsyncDir, giveTo } from "./dirs.js";

/**
 * Dovecot's dovecot-uidlist (version 3), written for a migrated folder so that IMAP clients
 * keep their UIDs and POP3 clients their UIDLs (see docs/migrate.md, "IMAP UIDs and POP3 UIDLs"):
 *
 *   3 V<uidvalidity> N<next uid>
 *   <uid> [P<pop3 uidl>] :<file name up to its ':2,' info (uidlistName)>
 *
 * Lines in ascending UID order. Files the list does not name (mail delivered later) get
 * UIDs from N on when Dovecot next looks at the folder.
 */
export const UIDLIST_FILE = "dovecot-uidlist";
/** Dovecot's own lock, which is also the new file: written whole, then renamed over the list. */
export const UIDLIST_LOCK = `${UIDLIST_FILE}.lock`;
/** Dovecot overrides a lock this old (MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT); so does mailstore. */
const STALE_LOCK_MS = 120_000;

export interface UidSource extends MessageUids {
  /** The message's file name (only its part before ':2,' is listed). */
  name: string;
}

export interface UidlistPlan {
  /** The file's text, or null when there is nothing to carry over. */
  text: string | null;
  validity: number;
  /** Messages that keep the UID their X-UID gave. */
  carried: number;
  /** Messages given a new UID after the last one the old server gave (as Dovecot's mbox code would). */
  renumbered: number;
  /** Messages with an X-UIDL. */
  uidls: number;
}

/**
 * UIDs for a folder's messages, given one by one in source order. The first message's base
 * sets UIDVALIDITY. Dovecot's own mbox rules decide which X-UIDs hold: only under a base read
 * from a header (an X-UID copied in with a forwarded message means nothing without one), and
 * only one higher than the UID before it and not above the base's last UID. Every other
 * message gets the next UID after the last, in order, as Dovecot's mbox code renumbers them.
 */
export class UidNumbering {
  private base: FolderBase | undefined;
  /** No base on the first message (a journal from before mailstore kept bases): nothing can be carried. */
  private baseless = false;
  /** The header's N: the UID the next message would get. */
  next = 1;
  private previous = 0;
  /** Messages that keep the UID their X-UID gave. */
  carried = 0;
  /** Messages given a new UID after the last one the old server gave. */
  renumbered = 0;
  /** Messages with an X-UIDL. */
  uidls = 0;

  /** The message's UID, or null once it is known that nothing can be carried. */
  add(message: MessageUids): number | null {
    if (this.baseless) return null;
    if (!this.base) {
      if (!message.base) {
        this.baseless = true;
        return null;
      }
      this.base = message.base;
      this.next = this.base.last + 1;
    }
    const base = this.base;
    if (message.uidl !== undefined) this.uidls++;
    if (base.fromHeader && message.uid !== undefined && message.uid > this.previous && message.uid <= base.last) {
      this.carried++;
      this.previous = message.uid;
    } else {
      this.renumbered++;
      this.previous = this.next++;
    }
    return this.previous;
  }

  get validity(): number {
    return this.base?.validity ?? 0;
  }

  /** Whether a list would carry anything over: an X-UID or an X-UIDL. */
  get carries(): boolean {
    return this.base !== undefined && (this.carried > 0 || this.uidls > 0);
  }
}

/** A message file's name as the list gives it: up to its ':2,' info, ",S=<size>" kept, as Dovecot writes it. */
export function uidlistName(fileName: string): string {
  const colon = fileName.indexOf(":");
  return colon < 0 ? fileName : fileName.slice(0, colon);
}

export interface UidlistEntry {
  uid: number;
  uidl?: string;
}

/** A list's UIDVALIDITY (null if its header has none) and its entries by name; lines that are not entries are skipped. */
export function parseUidlist(text: string): { validity: number | null; entries: Map<string, UidlistEntry> } {
  const [header, ...lines] = text.split("\n");
  const validity = /^3 (?:.* )?V(\d+)(?: |$)/.exec(header)?.[1];
  const entries = new Map<string, UidlistEntry>();
  for (const line of lines) {
    const m = /^(\d+)((?: [A-Z]\S*)*) :(.+)$/.exec(line);
    if (!m) continue;
    const uidl = / P(\S+)/.exec(m[2])?.[1];
    entries.set(m[3], uidl === undefined ? { uid: Number(m[1]) } : { uid: Number(m[1]), uidl });
  }
  return { validity: validity === undefined ? null : Number(validity), entries };
}

/** The list for a folder's messages in source order (see UidNumbering); its text is null when it would carry nothing. */
export function planUidlist(messages: Iterable<UidSource>): UidlistPlan {
  const numbering = new UidNumbering();
  const lines: string[] = [];
  for (const message of messages) {
    const uid = numbering.add(message);
    if (uid === null) break;
    lines.push(`${uid}${message.uidl !== undefined ? ` P${message.uidl}` : ""} :${uidlistName(message.name)}\n`);
  }
  const { validity, carried, renumbered, uidls } = numbering;
  if (!numbering.carries) return { text: null, validity, carried: 0, renumbered: 0, uidls: 0 };
  return { text: `3 V${validity} N${numbering.next}\n${lines.join("")}`, validity, carried, renumbered, uidls };
}

/** The folder's dovecot-uidlist as it is, or null if there is none. Never through a symlink. */
export function readUidlist(folderDir: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(path.join(folderDir, UIDLIST_FILE), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

const LOCK_POLL_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a lock file mailstore holds begins, until its list is written into it. */
const HOLDER_MARK = "mailstore holds this lock:";

/**
 * Marks a lock just created as mailstore's, held by this descriptor: an open file description
 * lock on it (which the kernel drops when the process dies, however it dies), then a line
 * naming the holder. Dovecot reads neither: to it this is any held lock. Without the addon
 * (or the kernel's support) the lock is left unmarked, and so is waited for like Dovecot's.
 */
function markHeld(fd: number): number {
  try {
    if (nativeAddon()?.fcntlLock(fd, true, true)) fs.writeSync(fd, `${HOLDER_MARK} pid ${process.pid} on ${os.hostname()}\n`);
  } catch {
    // unmarked: waited for, and taken over after two minutes, like Dovecot's
  }
  return fd;
}

/**
 * Whether the lock at `file` is one a mailstore run left when it died: marked as mailstore's,
 * and its descriptor's lock gone with that run. Then it is removed here (while this process
 * holds the dead lock's file, and only if `file` is still that file), and true returned.
 * A lock any live process holds, or that is not marked (Dovecot's), is left alone.
 */
function removedDeadHolder(file: string): boolean {
  const addon = nativeAddon();
  if (!addon) return false;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(HOLDER_MARK.length);
    const marked = fs.readSync(fd, head, 0, head.length, 0) === head.length && head.toString("latin1") === HOLDER_MARK;
    if (!marked || !addon.fcntlLock(fd, true, true)) return false;
    const now = fs.lstatSync(file, { throwIfNoEntry: false });
    const dead = fs.fstatSync(fd);
    if (!now || now.ino !== dead.ino || now.dev !== dead.dev) return false;
    fs.rmSync(file);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Dovecot's lock on a folder's list, held by this process. Taken as Dovecot takes it:
 * dovecot-uidlist.lock created exclusively, so a list Dovecot is writing into it is never
 * touched. Whoever holds it may write the list: the new text goes into the lock file, which
 * is then renamed over dovecot-uidlist (commit); so the list is read again once the lock is
 * held, for Dovecot may have rewritten it just before.
 */
export class UidlistLock {
  private constructor(
    private readonly folderDir: string,
    private fd: number | null,
  ) {}

  private get file(): string {
    return path.join(this.folderDir, UIDLIST_LOCK);
  }

  /**
   * Takes the lock. Dovecot holds it for the moment a sync takes: a held lock is waited for,
   * up to `waitMs`, then this throws. One older than two minutes is a crashed writer's and is
   * taken over, as Dovecot does; one that is not a plain file is never removed. A lock that
   * mailstore left (a run killed while holding it) is taken over at once (removedDeadHolder).
   */
  static async take(folderDir: string, waitMs: number): Promise<UidlistLock> {
    const file = path.join(folderDir, UIDLIST_LOCK);
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    const deadline = Date.now() + waitMs;
    for (;;) {
      let fd: number | null = null;
      try {
        fd = fs.openSync(file, flags, 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      if (fd !== null) return new UidlistLock(folderDir, markHeld(fd));
      let held: fs.Stats | null = null;
      try {
        held = fs.lstatSync(file);
      } catch {
        continue; // released just now
      }
      if (held.isFile() && Date.now() - held.mtimeMs >= STALE_LOCK_MS) fs.rmSync(file, { force: true });
      else if (held.isFile() && removedDeadHolder(file)) continue;
      else if (Date.now() >= deadline) {
        throw new Error(`${file} is held (Dovecot is using the folder?); waited ${Math.round(waitMs / 1000)} s; the messages are delivered, their UIDs not yet: run again once it is gone`);
      } else await sleep(LOCK_POLL_MS);
    }
  }

  /** Writes `text` as the folder's list (owned, flushed per `opts`, never partial) and gives the lock up. */
  commit(text: string, opts: { owner?: Owner; flush: boolean }): void {
    const fd = this.held();
    try {
      try {
        // Over the holder's mark, from the start.
        fs.ftruncateSync(fd, 0);
        const bytes = Buffer.from(text);
        for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
        giveTo(fd, opts.owner);
        if (opts.flush) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(this.file, path.join(this.folderDir, UIDLIST_FILE));
    } catch (err) {
      fs.rmSync(this.file, { force: true });
      throw err;
    }
    if (opts.flush) fsyncDir(this.folderDir);
  }

  /** Gives the lock up without writing; nothing once committed. */
  release(): void {
    if (this.fd === null) return;
    fs.closeSync(this.held());
    fs.rmSync(this.file, { force: true });
  }

  private held(): number {
    const fd = this.fd;
    if (fd === null) throw new Error(`${this.file}: no longer held`);
    this.fd = null;
    return fd;
  }
}

import type Database from "better-sqlite3";
import { openIndex } from "./db.js";

/** What `mailstore stat` prints: per folder and in total, from the index alone. */
export interface MailboxStat {
  user: string;
  path: string;
  indexedAt: string | null;
  messages: number;
  bytes: number;
  folders: Array<{ name: string; messages: number; bytes: number; unseen: number; flagged: number; deleted: number; recent: number; uidValidity: number; uidNext: number }>;
}

export interface ListedMessage {
  folder: string;
  uid: number;
  file: string;
  size: number;
  flags: string;
  received: string;
  date: string | null;
  from: string;
  to: string;
  subject: string;
  messageId: string;
}

export interface ListFilter {
  folder?: string;
  from?: string;
  subject?: string;
  since?: Date;
  largerThan?: number;
}

/** Folders in the order an IMAP LIST would give: INBOX first, then by name. */
const FOLDER_ORDER = "CASE WHEN f.name = 'INBOX' THEN 0 ELSE 1 END, f.name";

export function mailboxStat(user: string, maildir: string): MailboxStat {
  const { db } = openIndex(maildir, { readonly: true });
  try {
    const folders = db
      .prepare(`SELECT name, messages, bytes, unseen, flagged, deleted, recent, uid_validity AS uidValidity, uid_next AS uidNext FROM folders f ORDER BY ${FOLDER_ORDER}`)
      .all() as MailboxStat["folders"];
    return {
      user,
      path: maildir,
      indexedAt: (db.prepare("SELECT value FROM meta WHERE key = 'indexed_at'").pluck().get() as string | undefined) ?? null,
      messages: folders.reduce((a, f) => a + f.messages, 0),
      bytes: folders.reduce((a, f) => a + f.bytes, 0),
      folders,
    };
  } finally {
    db.close();
  }
}

export function listMessages(maildir: string, filter: ListFilter = {}): ListedMessage[] {
  const { db } = openIndex(maildir, { readonly: true });
  try {
    return query(db, filter);
  } finally {
    db.close();
  }
}

function query(db: Database.Database, filter: ListFilter): ListedMessage[] {
  const where: string[] = [];
  const args: Record<string, unknown> = {};
  if (filter.folder) {
    where.push("f.name = @folder");
    args.folder = filter.folder;
  }
  if (filter.from) {
    where.push("instr(lower(m.from_addr), lower(@from)) > 0");
    args.from = filter.from;
  }
  if (filter.subject) {
    where.push("instr(lower(m.subject), lower(@subject)) > 0");
    args.subject = filter.subject;
  }
  if (filter.since) {
    where.push("m.received >= @since");
    args.since = filter.since.getTime();
  }
  if (filter.largerThan !== undefined) {
    where.push("m.size > @larger");
    args.larger = filter.largerThan;
  }
  const rows = db
    .prepare(
      `SELECT f.name AS folder, m.uid, m.subdir, m.base, m.info, m.size, m.flags, m.received, m.date, m.from_addr, m.to_addr, m.subject, m.message_id
       FROM messages m JOIN folders f ON f.id = m.folder_id ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${FOLDER_ORDER}, m.uid`,
    )
    .all(args) as Array<{ folder: string; uid: number; subdir: string; base: string; info: string; size: number; flags: string; received: number; date: number | null; from_addr: string; to_addr: string; subject: string; message_id: string }>;
  return rows.map((r) => ({
    folder: r.folder,
    uid: r.uid,
    file: `${r.subdir}/${r.base}`,
    size: r.size,
    flags: r.flags,
    received: new Date(r.received).toISOString(),
    date: r.date === null ? null : new Date(r.date).toISOString(),
    from: r.from_addr,
    to: r.to_addr,
    subject: r.subject,
    messageId: r.message_id,
  }));
}

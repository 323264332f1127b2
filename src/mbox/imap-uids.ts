import { headerValuesOf } from "../util/rfc5322.js";

/**
 * The IMAP and POP3 identities an mbox server kept in its bookkeeping headers (see
 * docs/mbox-formats.md): Dovecot and UW-IMAP give each message an `X-UID`, and keep the
 * folder's UIDVALIDITY and last UID given in `X-IMAPbase` on the first message (UW-IMAP: in
 * `X-IMAP` on its pseudo message). POP3 servers such as qpopper kept each message's UIDL in
 * `X-UIDL`.
 */

export interface ImapBase {
  /** The folder's UIDVALIDITY. */
  validity: number;
  /** The highest UID the server ever gave in the folder (so the next one is last + 1). */
  last: number;
}

/** UIDVALIDITY and last UID: from the mbox's X-IMAPbase/X-IMAP, or made up for a source without (fromHeader false). */
export interface FolderBase extends ImapBase {
  fromHeader: boolean;
}

/** A message's identities, as a journal row and dovecot-uidlist take them. */
export interface MessageUids {
  uid?: number;
  uidl?: string;
  /** On the first message of a source only. */
  base?: FolderBase;
}

/** The header fields MboxUids.read takes, in its order. */
export const UID_FIELDS = ["x-uid", "x-uidl", "x-imapbase"];
const PSEUDO_FIELDS = ["x-imap", "x-imapbase"];

const MAX_UID = 0xffffffff;

function uint32(text: string): number | null {
  if (!/^\d{1,10}$/.test(text)) return null;
  const value = Number(text);
  return value >= 1 && value <= MAX_UID ? value : null;
}

/** `X-IMAPbase: <uidvalidity> <last uid> [keywords...]` (or X-IMAP); null if it is not that. */
export function parseImapBase(value: string | undefined): ImapBase | null {
  if (value === undefined) return null;
  const [validity, last] = value.trim().split(/\s+/);
  const v = uint32(validity ?? "");
  const l = last === undefined ? null : /^\d{1,10}$/.test(last) ? Number(last) : null;
  return v !== null && l !== null && l < MAX_UID ? { validity: v, last: l } : null;
}

/** `X-UID: <uid>` (Dovecot pads it with spaces to rewrite it in place); null if it is not a UID. */
export function parseUid(value: string | undefined): number | null {
  return value === undefined ? null : uint32(value.trim());
}

/**
 * `X-UIDL: <uidl>`: RFC 1939 allows 1 to 70 characters from 0x21 to 0x7E. Anything else
 * (a space would also break dovecot-uidlist's fields) is not carried.
 */
export function parseUidl(value: string | undefined): string | null {
  const text = value?.trim();
  return text && text.length <= 70 && /^[\x21-\x7e]+$/.test(text) ? text : null;
}

/**
 * A source's identities, message by message, in mbox order: the folder's base (from UW-IMAP's
 * pseudo message or the first message's X-IMAPbase, else made up at the first message and
 * kept with it, so every later run writes the same dovecot-uidlist), each X-UID and X-UIDL.
 */
export class MboxUids {
  /** Whether a message so far had an X-UID or X-UIDL. */
  sawAny = false;
  private pseudoBase: FolderBase | null = null;

  /** The folder-data pseudo message: its X-IMAP is the base. */
  pseudo(header: Buffer): void {
    const [imap, imapBase] = headerValuesOf(header, PSEUDO_FIELDS, { latin1: true });
    const base = parseImapBase(imap ?? imapBase);
    if (base) this.pseudoBase = { ...base, fromHeader: true };
  }

  /** Sets `into`'s fields from a message's UID_FIELDS values (found at `at` in `values`). */
  read(into: MessageUids, values: (string | undefined)[], at: number, first: boolean): void {
    const uid = parseUid(values[at]);
    const uidl = parseUidl(values[at + 1]);
    if (uid !== null) into.uid = uid;
    if (uidl !== null) into.uidl = uidl;
    if (uid !== null || uidl !== null) this.sawAny = true;
    if (first) {
      const base = this.pseudoBase ?? parseImapBase(values[at + 2]);
      into.base = base ? { ...base, fromHeader: true } : { validity: Math.floor(Date.now() / 1000), last: 0, fromHeader: false };
    }
  }
}

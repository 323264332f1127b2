import fs from "node:fs";
import path from "node:path";
import { parseUidlist, readUidlist, UidNumbering, uidlistName } from "../maildir/uidlist.js";
import { JOURNAL_FILE, Journal } from "./journal.js";

/**
 * What the folder's dovecot-uidlist says of the UIDs and UIDLs migrate carried over for a
 * source (see carryUids): its UIDVALIDITY, and each message that kept its X-UID or brought an
 * X-UIDL but is listed under another UID or UIDL. A message the list does not name is not
 * counted here: its file is gone (verify lists it as missing), or Dovecot numbered it.
 */
export interface UidsCheck {
  validity: number;
  /** The list's UIDVALIDITY; null when there is no list. */
  listValidity: number | null;
  wrong: Array<{ message: number; file: string; uid: number; listedUid: number; uidl?: string; listedUidl?: string }>;
}

/** Null where nothing was carried for the source (no journal, no X-UIDs or X-UIDLs, or a folder it shares with another source). */
export function checkUids(maildir: string, folderDir: string, sourcePath: string, folder: string): UidsCheck | null {
  if (!fs.existsSync(path.join(maildir, JOURNAL_FILE))) return null;
  const journal = new Journal(maildir, { durable: false, readonly: true });
  try {
    const sources = journal.sources().filter((s) => s.folder === folder);
    const source = sources.find((s) => s.path === path.resolve(sourcePath));
    if (!source || sources.length > 1) return null;
    const text = readUidlist(folderDir);
    const list = text === null ? null : parseUidlist(text);
    const numbering = new UidNumbering();
    const wrong: UidsCheck["wrong"] = [];
    for (const row of journal.deliveredRows(source.id)) {
      const uid = numbering.add(row);
      if (uid === null) return null;
      const kept = uid === row.uid;
      if (!list || (!kept && row.uidl === undefined)) continue;
      const file = uidlistName(row.name);
      const listed = list.entries.get(file);
      if (!listed) continue;
      if ((kept && listed.uid !== uid) || listed.uidl !== row.uidl) {
        wrong.push({ message: row.seq + 1, file, uid, listedUid: listed.uid, ...(row.uidl === undefined ? {} : { uidl: row.uidl, listedUidl: listed.uidl }) });
      }
    }
    return numbering.carries ? { validity: numbering.validity, listValidity: list?.validity ?? null, wrong } : null;
  } finally {
    journal.close();
  }
}

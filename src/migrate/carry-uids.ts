import type { Owner } from "../maildir/dirs.js";
import { planUidlist, readUidlist, writeUidlist } from "../maildir/uidlist.js";
import type { Journal, MessageRow } from "./journal.js";
import type { MailboxResult } from "./task.js";

function* before(rows: Iterable<MessageRow>, seq: number): Generator<MessageRow> {
  for (const row of rows) {
    if (row.seq >= seq) return;
    yield row;
  }
}

/**
 * Writes the folder's dovecot-uidlist from the journal's record of a source (every message
 * delivered from it, in order), so that the old server's UIDs and UIDLs live on. Runs once the
 * source's last batch is in place and before the source is marked done: a crash in between
 * leaves the source running, and the next run writes the list.
 *
 * The list is mailstore's to write only while Dovecot has not taken it over: when there is
 * none, or when it is, byte for byte, the list the earlier runs wrote (the one for the
 * `previous` messages delivered before this run). One folder holds one source's UIDs: a
 * second mbox into the same folder would bring a second, clashing set of them.
 */
export function carryUids(journal: Journal, sourceId: number, folderKey: string, folderDir: string, previous: number, result: MailboxResult, opts: { owner?: Owner; flush: boolean }): void {
  const plan = planUidlist(journal.deliveredRows(sourceId));
  if (plan.text === null) return;
  const others = journal.sources().filter((s) => s.folder === folderKey && s.id !== sourceId);
  if (others.length > 0) {
    result.warnings.push(`IMAP UIDs and POP3 UIDLs not carried over: folder ${folderKey} also holds the messages of ${others[0].path}, whose UIDs would clash`);
    return;
  }
  const existing = readUidlist(folderDir);
  if (existing !== plan.text) {
    if (existing !== null && existing !== planUidlist(before(journal.deliveredRows(sourceId), previous)).text) {
      result.warnings.push("IMAP UIDs and POP3 UIDLs of this run's messages not carried over: the folder's dovecot-uidlist is not the one mailstore wrote (Dovecot has taken it over), so Dovecot numbers them");
      return;
    }
    writeUidlist(folderDir, plan.text, opts);
  }
  result.uids = { validity: plan.validity, carried: plan.carried, renumbered: plan.renumbered };
}

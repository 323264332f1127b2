import type { Owner } from "../maildir/dirs.js";
import { planUidlist, readUidlist, UidlistLock } from "../maildir/uidlist.js";
import type { Journal, MessageRow } from "./journal.js";
import type { MailboxResult } from "./task.js";

function* firstOf(rows: Iterable<MessageRow>, count: number): Generator<MessageRow> {
  if (count <= 0) return;
  let taken = 0;
  for (const row of rows) {
    yield row;
    if (++taken === count) return;
  }
}

/**
 * Writes the folder's dovecot-uidlist from the journal's record of a source (every message
 * delivered from it, in order), so that the old server's UIDs and UIDLs live on. Runs once the
 * source's last batch is in place and before the source is marked done: a crash in between
 * leaves the source running, and the next run writes the list.
 *
 * The list is mailstore's to write only while Dovecot has not taken it over: when there is
 * none, or when it is, byte for byte, the list an earlier run wrote, for as many of the
 * source's first messages as it has lines (not necessarily all that were delivered before
 * this run: a run may have delivered more, then stopped before it wrote the list). That is
 * judged under Dovecot's lock (waited for up to `lockWaitMs`), on the list as it is then. One
 * folder holds one source's UIDs: a second mbox into the same folder would bring a second,
 * clashing set of them.
 */
export async function carryUids(journal: Journal, sourceId: number, folderKey: string, folderDir: string, result: MailboxResult, opts: { owner?: Owner; flush: boolean; lockWaitMs: number }): Promise<void> {
  const plan = planUidlist(journal.deliveredRows(sourceId));
  if (plan.text === null) return;
  const others = journal.sources().filter((s) => s.folder === folderKey && s.id !== sourceId);
  if (others.length > 0) {
    result.warnings.push(`IMAP UIDs and POP3 UIDLs not carried over: folder ${folderKey} also holds the messages of ${others[0].path}, whose UIDs would clash`);
    return;
  }
  // Nothing to write when the list is already this one; read without the lock first, as a
  // finished migration run again finds it.
  if (readUidlist(folderDir) !== plan.text) {
    const lock = await UidlistLock.take(folderDir, opts.lockWaitMs);
    try {
      const existing = readUidlist(folderDir);
      if (existing !== plan.text) {
        const listed = existing === null ? 0 : existing.split("\n").length - 2;
        const prior = existing === null ? null : planUidlist(firstOf(journal.deliveredRows(sourceId), listed));
        if (prior && existing !== prior.text) {
          // Dovecot numbers this run's messages from its N on, as the list would have numbered
          // those without a usable X-UID: only an X-UID or X-UIDL among them is lost.
          if (plan.carried > prior.carried || plan.uidls > prior.uidls) {
            result.warnings.push("IMAP UIDs and POP3 UIDLs of this run's messages not carried over: the folder's dovecot-uidlist is not the one mailstore wrote (Dovecot has taken it over), so Dovecot numbers them");
          }
          return;
        }
        lock.commit(plan.text, opts);
      }
    } finally {
      lock.release(); // (nothing left to give up once committed)
    }
  }
  result.uids = { validity: plan.validity, carried: plan.carried, renumbered: plan.renumbered };
}

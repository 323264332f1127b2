import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { mailstore } from "./cli.js";

/**
 * Everything an index holds about messages and folders, except the UIDVALIDITY (its creation
 * time). byName: messages in name order without their UIDs, for runs that started within one
 * second (their names then interleave, and a scan numbers them in another order).
 */
export function dumpIndex(maildir: string, opts: { byName?: boolean } = {}): unknown {
  const db = new Database(path.join(maildir, "mailstore.sqlite"), { readonly: true });
  try {
    return {
      folders: db.prepare("SELECT name, uid_next, messages, bytes, unseen, flagged, deleted, recent, oldest, newest FROM folders ORDER BY name").all(),
      messages: db
        .prepare(`SELECT f.name AS folder, m.* FROM messages m JOIN folders f ON f.id = m.folder_id ORDER BY f.name, ${opts.byName ? "m.base" : "m.uid"}`)
        .all()
        .map((m) => ({ ...(m as object), folder_id: undefined, uid: opts.byName ? undefined : (m as { uid: number }).uid })),
    };
  } finally {
    db.close();
  }
}

/** The user's index as it stands, and as `mailstore index` builds it afresh (the first is moved to `aside`). */
export function indexAndRescan(root: string, user: string, aside: string, opts: { byName?: boolean } = {}): { kept: unknown; rescanned: unknown } {
  const home = mailstore(["path", "--root", root, user]).stdout.trim();
  const kept = dumpIndex(home, opts);
  fs.renameSync(path.join(home, "mailstore.sqlite"), aside);
  const r = mailstore(["index", "--root", root, user]);
  if (r.status !== 0) throw new Error(r.stderr);
  return { kept, rescanned: dumpIndex(home, opts) };
}

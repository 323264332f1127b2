import { userMaildir } from "../maildir/layout.js";
import type { MigrateOptions } from "../migrate/mailbox.js";
import { type IndexSummary, indexMaildir } from "./indexer.js";

export interface IndexResult extends Partial<IndexSummary> {
  user: string;
  status: "indexed" | "failed";
  seconds: number;
  error?: string;
}

/** Indexes one user's Maildir; any error fails this user alone. */
export function indexUser(user: string, opts: Pick<MigrateOptions, "root" | "fanout"> & { full?: boolean }): IndexResult {
  const started = Date.now();
  const maildir = userMaildir(opts.root, user, opts.fanout);
  try {
    const summary = indexMaildir(maildir, { full: opts.full });
    return { user, status: "indexed", ...summary, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    return { user, maildir, status: "failed", error: `${maildir}: ${(err as Error).message}`, seconds: (Date.now() - started) / 1000 };
  }
}

import assert from "node:assert/strict";
import path from "node:path";
import { userMaildir } from "../../src/maildir/layout.js";
import { migrateMailbox, type MigrateOptions } from "../../src/migrate/mailbox.js";
import { tempDir, writeRealMbox } from "./mbox.js";

/** Migration options for library-level tests: no flushing, no index unless asked. */
export const testOptions = (root: string, more: Partial<MigrateOptions> = {}): MigrateOptions => ({
  root,
  fanout: [2, 2],
  format: "auto",
  sync: "none",
  dryRun: false,
  followSymlinks: false,
  lockTimeoutMs: 2000,
  index: false,
  ...more,
});

/**
 * User nina's Maildir, migrated (without an index) from an mbox of the first `n` real
 * messages, each with its extra header lines if given; `source` is that mbox.
 */
export async function migratedMaildir(n: number, extraHeaders?: string[]): Promise<{ maildir: string; source: string; root: string }> {
  const dir = tempDir();
  const source = path.join(dir, "nina");
  writeRealMbox(source, n, { extraHeaders });
  const root = path.join(dir, "root");
  const r = await migrateMailbox({ source, user: "nina" }, testOptions(root));
  assert.equal(r.status, "migrated", r.error);
  return { maildir: userMaildir(root, "nina"), source, root };
}

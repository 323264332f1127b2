import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { type FedMessage, messageAppender } from "../../src/index/appender.js";
import { openIndex } from "../../src/index/db.js";
import { readHeads } from "../../src/index/heads.js";
import { indexMaildir, type SyncOptions, syncIndex, withIndex } from "../../src/index/indexer.js";
import { updateStats } from "../../src/index/rows.js";
import { listingMatches } from "../../src/maildir/listing-digest.js";
import { migrateMailbox } from "../../src/migrate/mailbox.js";
import { dumpIndex } from "../helpers/index-dump.js";
import { migratedMaildir, testOptions } from "../helpers/maildir.js";
import { buildMbox, realMessages } from "../helpers/mbox.js";

/**
 * nina's Maildir as a resumed migration leaves it: 8 messages from a first run, then 24 more
 * from a second run, whose files all carry that run's name mark (as a feed sees them).
 */
async function resumedMaildir() {
  const { maildir, source, root } = await migratedMaildir(8, Array.from({ length: 8 }, (_, i) => (i % 2 ? "Status: RO\n" : "")));
  const before = new Set(["new", "cur"].flatMap((sub) => fs.readdirSync(path.join(maildir, sub))));
  const more = realMessages("lf", 32).slice(8).map((m) => m.bytes);
  fs.appendFileSync(source, buildMbox(more, "mboxrd", { extraHeaders: more.map((_, i) => (i % 3 ? "" : "Status: O\nX-Status: F\n")) }).mbox);
  assert.equal((await migrateMailbox({ source, user: "nina" }, testOptions(root))).status, "resumed");
  const second = ["new", "cur"].flatMap((sub) => fs.readdirSync(path.join(maildir, sub)).filter((n) => !before.has(n)).map((name) => ({ sub, name })));
  assert.equal(second.length, 24);
  const mark = /P\d+R[0-9a-f]{8}\./.exec(second[0].name)?.[0] as string;
  assert.ok(second.every((f) => f.name.includes(mark)) && [...before].every((n) => !n.includes(mark)));
  return { maildir, mark, second };
}

/** What the migration would hand the feed for these files. */
function fed(maildir: string, files: Array<{ sub: string; name: string }>): FedMessage[] {
  const heads = readHeads(maildir, files.map((f) => `${f.sub}/${f.name}`));
  return files.map((f, i) => ({ name: f.name, subdir: f.sub as "new" | "cur", size: heads[i].size, received: heads[i].received, header: heads[i].block }));
}

function sync(maildir: string, opts: SyncOptions) {
  const opened = openIndex(maildir);
  return withIndex(opened, () => syncIndex(opened.db, maildir, opts)).summary;
}

/** The same index built by a plain scan of a copy of the Maildir. */
function rescanned(maildir: string): unknown {
  const copy = `${maildir}-rescan`;
  fs.cpSync(maildir, copy, { recursive: true, preserveTimestamps: true, filter: (src) => !path.basename(src).startsWith("mailstore.sqlite") });
  indexMaildir(copy);
  // Two runs within one second interleave their names: compare by name, not by UID.
  return dumpIndex(copy, { byName: true });
}

test("the feed's first sync leaves the delivery's own files to it; its last one trusts what it added only when a listing shows exactly that", async (t) => {
  for (const foreign of [false, true]) {
    await t.test(foreign ? "with foreign changes during the delivery" : "with nothing else touching the folder", async () => {
      const { maildir, mark, second } = await resumedMaildir();
      const first = sync(maildir, { fed: { dir: maildir, leave: mark } });
      assert.equal(first.added, 8, "the first run's messages are indexed, the delivery's are left to the feed");
      const opened = openIndex(maildir);
      const appender = messageAppender(opened.db, maildir, maildir);
      assert.equal(appender.holds.count, 8);
      assert.equal(appender.append(fed(maildir, second.slice(0, 10))) + appender.append(fed(maildir, second.slice(10))), 24);
      assert.equal(appender.holds.count, 32);
      const statRow = () => opened.db.prepare("SELECT messages, bytes, unseen, flagged, deleted, recent, oldest, newest FROM folders").get() as { messages: number };
      const kept = statRow();
      assert.equal(kept.messages, 32);
      updateStats(opened.db, 1);
      assert.deepEqual(kept, statRow(), "the stat row the appender kept is a recount's");
      opened.db.close();
      assert.ok(listingMatches(maildir, appender.holds), "what the appender holds is what the folder holds");

      const expected = { added: 0, renamed: 0, removed: 0 };
      if (foreign) {
        // Meanwhile an MDA delivers, an IMAP server marks a fed message seen and expunges an older one.
        const delivered = path.join(maildir, "new", "2000000000.M1P1.lda");
        fs.writeFileSync(delivered, "Subject: delivered meanwhile\nFrom: a@b.example\n\nhi\n");
        // A whole second, which the copy compared with keeps exactly.
        fs.utimesSync(delivered, 1_700_000_000, 1_700_000_000);
        const fedNew = second.find((f) => f.sub === "new") as { name: string };
        fs.renameSync(path.join(maildir, "new", fedNew.name), path.join(maildir, "cur", `${fedNew.name}:2,S`));
        const older = fs.readdirSync(path.join(maildir, "cur")).find((n) => !n.includes(mark)) as string;
        fs.unlinkSync(path.join(maildir, "cur", older));
        Object.assign(expected, { added: 1, renamed: 1, removed: 1 });
      }
      const last = sync(maildir, { fed: { dir: maildir, holds: appender.holds } });
      assert.deepEqual({ added: last.added, renamed: last.renamed, removed: last.removed }, expected);
      // An expunged message's UID is never given again: the live index counts one more than a scan.
      const uidNextOff = (dump: unknown) => {
        const d = dump as { folders: Array<{ uid_next: number }> };
        for (const folder of d.folders) folder.uid_next -= foreign ? 1 : 0;
        return d;
      };
      assert.deepEqual(uidNextOff(dumpIndex(maildir, { byName: true })), rescanned(maildir));
    });
  }
});

test("files the first sync left are indexed by the next ordinary run if the feed never brings them", async () => {
  const { maildir, mark } = await resumedMaildir();
  // Directories old enough that a sync would otherwise keep their mtimes and skip them next time.
  const past = new Date(Date.now() - 60_000);
  for (const sub of ["cur", "new"]) fs.utimesSync(path.join(maildir, sub), past, past);
  sync(maildir, { fed: { dir: maildir, leave: mark } });
  // The migration was killed before its batches reached the feed: the folder kept no mtimes.
  assert.equal(indexMaildir(maildir).added, 24);
  assert.deepEqual(dumpIndex(maildir, { byName: true }), rescanned(maildir));
});

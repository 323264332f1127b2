import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { userMaildir } from "../../src/maildir/layout.js";
import { JOURNAL_FILE, Journal, type MessageRow } from "../../src/migrate/journal.js";
import { type MigrateOptions, migrateMailbox } from "../../src/migrate/mailbox.js";
import { verifyMailbox } from "../../src/migrate/verify.js";
import { bootId } from "../../src/util/boot-id.js";
import { buildMbox, maildirMessages, REPO, realMessages, tempDir } from "../helpers/mbox.js";

const row = (seq: number): MessageRow => ({ seq, offset: seq * 100, end: seq * 100 + 99, crc: (seq * 2654435761) >>> 0, name: `1700000000.M${seq}P1.host,S=99${seq % 2 ? ":2,S" : ""}`, subdir: seq % 2 ? "cur" : "new", size: 99 });
const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => row(from + i));

test("batches: pending until marked done; a crash's batch is settled to the prefix whose files are in place", () => {
  const dir = tempDir();
  const journal = new Journal(dir, { durable: false });
  try {
    const id = journal.start("/var/mail/ann", "INBOX");
    journal.recordPending(id, rows(0, 1000));
    assert.deepEqual(journal.delivered(id), []);
    // The next batch's pending record marks the one before it done, in one transaction.
    journal.recordPending(id, rows(1000, 1500), 0);
    assert.deepEqual(journal.delivered(id), rows(0, 1000));
    assert.deepEqual(journal.pending(id), rows(1000, 1500));
    assert.deepEqual(journal.last(id), row(1499), "last counts a pending message too, as before settling");
    // Files are published in order: 1000-1199 made it, 1150 was removed by a client since.
    const inPlace = (r: MessageRow) => r.seq < 1200 && r.seq !== 1150;
    // A dry run reads where settling will leave the source, and changes nothing.
    assert.deepEqual(journal.lastIfSettled(id, inPlace), row(1199));
    assert.deepEqual(journal.lastIfSettled(id, () => false), row(999), "none in place: the last done batch's");
    assert.deepEqual(journal.pending(id), rows(1000, 1500));
    const settled = journal.settle(id, inPlace);
    assert.deepEqual(settled, { kept: 200, dropped: 300 });
    assert.deepEqual(journal.pending(id), []);
    assert.deepEqual(journal.delivered(id), rows(0, 1200));
    assert.deepEqual(journal.last(id), row(1199));
    // A batch none of whose files arrived leaves nothing behind.
    journal.recordPending(id, rows(1200, 1300));
    // A pending record that fails takes its done mark of the batch before with it.
    assert.throws(() => journal.recordPending(id, [row(1300), row(1302)], 1200), /not consecutive/);
    assert.deepEqual(journal.pending(id), rows(1200, 1300));
    assert.deepEqual(journal.settle(id, () => false), { kept: 0, dropped: 100 });
    assert.deepEqual(journal.last(id), row(1199));
    const other = journal.start("/var/mail/ann", "Archive");
    assert.equal(journal.last(other), undefined, "sources are kept apart");
  } finally {
    journal.close();
  }
});

test("holes: the pending messages missing below the last one in place; each run records the boot it ran in", () => {
  const dir = tempDir();
  const journal = new Journal(dir, { durable: false });
  try {
    const id = journal.start("/var/mail/ida", "INBOX");
    assert.equal(journal.source("/var/mail/ida", "INBOX")?.boot, bootId());
    assert.match(bootId() ?? "", /^[0-9a-f-]{36}$/, "Linux gives every boot an id");
    journal.recordPending(id, rows(0, 10));
    journal.recordPending(id, rows(10, 20), 0);
    const inPlace = new Set([10, 11, 13, 16, 17]);
    const found = journal.holes(id, (r) => inPlace.has(r.seq));
    assert.deepEqual(found, { holes: [row(12), row(14), row(15)], lastInPlace: row(17) }, "only the pending batch; 18 and 19 are the cut tail");
    assert.deepEqual(journal.holes(id, () => false), { holes: [], lastInPlace: undefined });
    assert.deepEqual(journal.holes(id, () => true), { holes: [], lastInPlace: row(19) });
  } finally {
    journal.close();
  }
});

test("a journal from before the boot column gains it on open for writing, and reads as boot unknown until a run records one", () => {
  const dir = tempDir();
  new Journal(dir, { durable: false }).close();
  const file = path.join(dir, JOURNAL_FILE);
  const db = new Database(file);
  db.exec("ALTER TABLE sources DROP COLUMN boot");
  db.prepare("INSERT INTO sources (path, folder, state, updated_at) VALUES ('/var/mail/old', 'INBOX', 'running', 'then')").run();
  db.close();
  const readonly = new Journal(dir, { durable: false, readonly: true });
  assert.equal(readonly.source("/var/mail/old", "INBOX")?.boot, null);
  readonly.close();
  const journal = new Journal(dir, { durable: false });
  try {
    assert.equal(journal.source("/var/mail/old", "INBOX")?.boot, null, "a pending batch of an older run counts as cut by a restart");
    journal.start("/var/mail/old", "INBOX");
    assert.equal(journal.source("/var/mail/old", "INBOX")?.boot, bootId());
  } finally {
    journal.close();
  }
});

/** What a journal file holds for SQLite: its schema, meta rows and journal mode, and its file format bytes. */
function journalShape(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const header = fs.readFileSync(file).subarray(18, 20);
    return JSON.stringify({
      schema: db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(),
      meta: db.prepare("SELECT key, value FROM meta ORDER BY key").all(),
      mode: db.pragma("journal_mode", { simple: true }),
      formatVersions: [...header],
    });
  } finally {
    db.close();
  }
}

test("a message's X-UID, X-UIDL and its source's base are kept beside it; rows without them stay six fields, as older journals hold", () => {
  const dir = tempDir();
  const journal = new Journal(dir, { durable: false });
  try {
    const id = journal.start("/var/mail/uw", "INBOX");
    const withIds: MessageRow[] = [
      { ...row(0), uid: 4, base: { validity: 1002704010, last: 9, fromHeader: true } },
      { ...row(1), uidl: "qp5.e4f1" },
      row(2),
      { ...row(3), uid: 9, uidl: "UID9" },
    ];
    journal.recordPending(id, withIds);
    journal.markDone(id, 0);
    assert.deepEqual(journal.delivered(id), withIds);
    const stored = JSON.parse(journal.db.prepare("SELECT messages FROM batches").pluck().get() as string) as unknown[][];
    assert.deepEqual(stored.map((r) => r.length), [9, 8, 6, 8]);
  } finally {
    journal.close();
  }
});

test("a new journal starts as a ready-made empty one (two flushes instead of eight): the same file SQLite would make, never over an existing one", () => {
  const dir = tempDir();
  const identity = { dev: "1", ino: "2", size: "3", mtimeNs: "4", ctimeNs: "5" };
  const journal = new Journal(dir, { durable: true });
  /** The pragmas start() sets: its commit goes unflushed only in a journal just made (its WAL is new). */
  const startPragmas = (j: Journal, source: string) => {
    const calls: string[] = [];
    const pragma = j.db.pragma.bind(j.db);
    j.db.pragma = ((sql: string, options?: Database.PragmaOptions) => (calls.push(sql), pragma(sql, options))) as typeof j.db.pragma;
    const started = j.start(source, "INBOX");
    j.db.pragma = pragma;
    return { started, calls };
  };
  let id: number;
  try {
    assert.equal(journal.fromImage, true, "made from the image where the addon and O_TMPFILE work, as here");
    const first = startPragmas(journal, "/var/mail/dora");
    assert.deepEqual(first.calls, ["synchronous = OFF", "synchronous = FULL"]);
    id = first.started;
    journal.recordPending(id, rows(0, 10));
    journal.finish(id, identity, 0);
  } finally {
    journal.close();
  }
  assert.equal(fs.statSync(path.join(dir, JOURNAL_FILE)).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), [JOURNAL_FILE], "nothing else left in the Maildir");
  // SQLite's own way, in a process without the addon.
  const other = tempDir();
  const module = JSON.stringify(path.join(REPO, "src", "migrate", "journal.ts"));
  const made = spawnSync(process.execPath, ["--import", "tsx", "-e", `import(${module}).then(({ Journal }) => { const j = new Journal(${JSON.stringify(other)}, { durable: true }); console.log(j.fromImage); j.close(); })`], {
    encoding: "utf8",
    env: { ...process.env, MAILSTORE_NO_NATIVE: "1" },
    cwd: REPO,
  });
  assert.equal(made.stdout.trim(), "false", made.stderr);
  assert.equal(journalShape(path.join(dir, JOURNAL_FILE)), journalShape(path.join(other, JOURNAL_FILE)));
  assert.deepEqual(JSON.parse(journalShape(path.join(dir, JOURNAL_FILE))).formatVersions, [2, 2], "WAL");

  const reopened = new Journal(dir, { durable: true });
  try {
    assert.equal(reopened.fromImage, false, "an existing journal is opened, not replaced");
    assert.deepEqual(startPragmas(reopened, "/var/mail/dora2").calls, [], "an older journal's WAL may be large enough to checkpoint: flushed as usual");
    assert.deepEqual(reopened.delivered(id), rows(0, 10), "finish marked the last batch done with the source");
    assert.equal(reopened.source("/var/mail/dora", "INBOX")?.state, "done");
  } finally {
    reopened.close();
  }
});

/** Rewrites a journal in schema 1 (a row per message), as earlier mailstore builds wrote it. */
function downgradeToSchema1(file: string): void {
  const db = new Database(file);
  try {
    db.exec(`
      CREATE TABLE messages (
        source_id INTEGER NOT NULL REFERENCES sources(id), seq INTEGER NOT NULL, offset INTEGER NOT NULL, "end" INTEGER NOT NULL,
        crc INTEGER NOT NULL, name TEXT NOT NULL, subdir TEXT NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (source_id, seq));
      INSERT INTO messages SELECT b.source_id, b.first_seq + j.key, j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, b.state
        FROM batches b, json_each(b.messages) j;
      DROP TABLE batches;
      UPDATE meta SET value = '1' WHERE key = 'schema';
    `);
  } finally {
    db.close();
  }
}

test("a schema 1 journal (a row per message) is converted on open: same messages, same states", () => {
  const dir = tempDir();
  const journal = new Journal(dir, { durable: false });
  const id = journal.start("/var/mail/bo", "INBOX");
  // More than one page (10,000 rows) of the conversion's reading.
  const done = rows(0, 25_000);
  for (let at = 0; at < done.length; at += 700) {
    journal.recordPending(id, done.slice(at, at + 700));
    journal.markDone(id, at);
  }
  journal.recordPending(id, rows(25_000, 25_100));
  journal.close();
  downgradeToSchema1(path.join(dir, JOURNAL_FILE));

  const readonly = new Journal(dir, { durable: false, readonly: true });
  assert.deepEqual(readonly.delivered(id), done, "read-only (verify) reads schema 1 as it is");
  readonly.close();

  const reopened = new Journal(dir, { durable: false });
  try {
    assert.equal(reopened.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), "2");
    assert.equal(reopened.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'messages'").pluck().get(), 0);
    assert.deepEqual(reopened.delivered(id), done);
    assert.deepEqual(reopened.pending(id), rows(25_000, 25_100));
    assert.ok((reopened.db.prepare("SELECT max(count) FROM batches").pluck().get() as number) <= 1000);
  } finally {
    reopened.close();
  }
});

test("a migration journaled by an earlier build (schema 1) resumes: only the new messages land, verify agrees", async () => {
  const dir = tempDir();
  const msgs = realMessages("lf", 40).map((m) => m.bytes);
  const src = path.join(dir, "cleo");
  const root = path.join(dir, "root");
  const opts: MigrateOptions = { root, fanout: [2, 2], format: "auto", sync: "none", dryRun: false, followSymlinks: false, lockTimeoutMs: 2000, index: false, batchMessages: 7 };
  fs.writeFileSync(src, buildMbox(msgs.slice(0, 25), "mboxrd").mbox);
  assert.equal((await migrateMailbox({ source: src, user: "cleo" }, opts)).status, "migrated");
  const maildir = userMaildir(root, "cleo");
  downgradeToSchema1(path.join(maildir, JOURNAL_FILE));
  const all = buildMbox(msgs, "mboxrd");
  fs.writeFileSync(src, all.mbox);
  const r = await migrateMailbox({ source: src, user: "cleo" }, opts);
  assert.equal(r.status, "resumed", r.error);
  assert.equal(r.previous, 25);
  assert.equal(r.messages, 15);
  // Each message once (the two runs' file names need not sort in delivery order).
  const sorted = (list: Buffer[]) => list.map((b) => b.toString("base64")).sort();
  assert.deepEqual(sorted(maildirMessages(maildir).map((m) => m.bytes)), sorted(all.expected));
  const v = await verifyMailbox({ source: src, user: "cleo" }, opts);
  assert.equal(v.status, "ok", JSON.stringify(v));
});

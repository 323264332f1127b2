import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { userMaildir } from "../../src/maildir/layout.js";
import { JOURNAL_FILE } from "../../src/migrate/journal.js";
import { migrateMailbox } from "../../src/migrate/mailbox.js";
import { verifyMailbox } from "../../src/migrate/verify.js";
import { testOptions } from "../helpers/maildir.js";
import { buildMbox, maildirMessages, realMessages, tempDir, writeRealMbox } from "../helpers/mbox.js";

/** A user's mailbox of `n` real messages, migrated: its source, root and Maildir. */
async function migrated(user: string, n: number) {
  const dir = tempDir();
  const root = path.join(dir, "root");
  const source = path.join(dir, user);
  const built = writeRealMbox(source, n, { extraHeaders: Array.from({ length: n }, (_, i) => (i % 2 ? "Status: O\n" : "")) });
  const r = await migrateMailbox({ source, user }, testOptions(root));
  assert.equal(r.status, "migrated", r.error);
  return { dir, root, source, maildir: userMaildir(root, user), expected: built.expected };
}

const fileOf = (maildir: string, f: { sub: string; name: string }) => path.join(maildir, f.sub, f.name);

test("verify names missing, extra and different messages", async () => {
  const { root, source, maildir } = await migrated("erin", 6);
  const files = maildirMessages(maildir);
  fs.unlinkSync(fileOf(maildir, files[1]));
  fs.appendFileSync(fileOf(maildir, files[2]), "tampered\n");
  fs.copyFileSync(fileOf(maildir, files[3]), path.join(maildir, "new", "1.dup.host"));
  const v = await verifyMailbox({ source, user: "erin" }, testOptions(root));
  assert.equal(v.status, "differs");
  assert.deepEqual(v.missing.map((m) => m.message), [2]);
  assert.deepEqual(v.different.map((d) => d.message), [3]);
  assert.deepEqual(v.extra, ["new/1.dup.host"]);
  assert.equal(v.notYetMigrated, undefined, "a message lost from the Maildir is no message not migrated yet");
});

test("verify compares bytes: one byte changed in place, or one cut off, is a difference; flags changed since are not", async () => {
  const { root, source, maildir } = await migrated("finn", 8);
  const files = maildirMessages(maildir);
  // Same size, one byte flipped deep in the body.
  const flipped = fileOf(maildir, files[1]);
  const bytes = fs.readFileSync(flipped);
  bytes[bytes.length - 3] ^= 0x01;
  fs.writeFileSync(flipped, bytes);
  fs.truncateSync(fileOf(maildir, files[4]), files[4].bytes.length - 1);
  // An IMAP client read one (new/ -> cur/, seen) and flagged another.
  const unread = files.find((f, i) => i > 4 && f.sub === "new") as { sub: string; name: string };
  fs.renameSync(fileOf(maildir, unread), path.join(maildir, "cur", `${unread.name}:2,S`));
  const read = files.find((f, i) => i > 4 && f.sub === "cur") as { sub: string; name: string };
  fs.renameSync(fileOf(maildir, read), path.join(maildir, "cur", `${read.name}F`));
  const v = await verifyMailbox({ source, user: "finn" }, testOptions(root));
  assert.deepEqual(v.different.map((d) => [d.message, d.file]), [
    [2, `${files[1].sub}/${files[1].name}`],
    [5, `${files[4].sub}/${files[4].name}`],
  ]);
  assert.deepEqual([v.missing, v.extra, v.sourceMessages, v.maildirMessages], [[], [], 8, 8]);
});

test("another source's files in the folder are neither extras nor stand-ins while the journal names them; without a journal, messages are matched by content", async () => {
  const { root, source, maildir, dir, expected } = await migrated("gwen", 5);
  // A second mbox of hers, delivered into the same INBOX: four messages and a copy of her fourth.
  const second = path.join(dir, "gwen-old");
  fs.writeFileSync(second, buildMbox([...realMessages("lf", 9).slice(5).map((m) => m.bytes), expected[3]], "mboxrd").mbox);
  assert.equal((await migrateMailbox({ source: second, user: "gwen" }, testOptions(root))).status, "migrated");
  assert.equal(maildirMessages(maildir).length, 10);
  const ok = await verifyMailbox({ source, user: "gwen" }, testOptions(root));
  assert.deepEqual([ok.status, ok.sourceMessages, ok.maildirMessages, ok.extra], ["ok", 5, 10, []]);

  // Files found by content (the two runs' names interleave); her own copy of the fourth goes.
  const files = maildirMessages(maildir);
  const ownMark = /P\d+R[0-9a-f]{8}\./.exec(files.find((f) => f.bytes.equals(expected[0]))?.name ?? "")?.[0] as string;
  const own = (i: number) => files.find((f) => f.bytes.equals(expected[i]) && f.name.includes(ownMark)) as { sub: string; name: string };
  const [first, fourth] = [own(0), own(3)];
  fs.unlinkSync(fileOf(maildir, fourth));
  const lost = await verifyMailbox({ source, user: "gwen" }, testOptions(root));
  assert.deepEqual([lost.missing.map((m) => m.message), lost.extra], [[4], []], "the other mbox's copy does not stand in for it");

  fs.rmSync(path.join(maildir, JOURNAL_FILE));
  fs.copyFileSync(fileOf(maildir, first), path.join(maildir, "cur", "1.copy.host:2,S"));
  const v = await verifyMailbox({ source, user: "gwen" }, testOptions(root));
  assert.equal(v.status, "differs");
  assert.deepEqual([v.missing, v.different], [[], []], "without a journal, any file with its bytes will do");
  // The other mbox's four other files, and one of the two copies of message 1.
  assert.equal(v.extra.length, 5);
  assert.equal(v.extra.filter((f) => f === `${first.sub}/${first.name}` || f === "cur/1.copy.host:2,S").length, 1);
});

test("a file a mail client renames (or expunges) while verify runs is found again, or reported missing; verify does not fail", async () => {
  const { root, source, maildir, expected } = await migrated("hugo", 8);
  const files = maildirMessages(maildir);
  const fileOfMessage = (i: number) => files.find((f) => f.bytes.equals(expected[i])) as { sub: string; name: string };
  const [third, fifth, sixth] = [fileOfMessage(2), fileOfMessage(4), fileOfMessage(5)];
  // Once message 2 is compared (after the listing was taken): the client reads 3, flags 5 and
  // rewrites it, and expunges 6.
  let messages = 0;
  const progress = (_bytes: number, n: number) => {
    messages += n;
    if (messages !== 2 || n === 0) return;
    fs.renameSync(fileOf(maildir, third), path.join(maildir, "cur", `${third.name.split(":")[0]}:2,S`));
    const flagged = path.join(maildir, "cur", `${fifth.name.split(":")[0]}:2,F`);
    fs.renameSync(fileOf(maildir, fifth), flagged);
    fs.appendFileSync(flagged, "changed\n");
    fs.unlinkSync(fileOf(maildir, sixth));
  };
  const v = await verifyMailbox({ source, user: "hugo" }, testOptions(root), progress);
  assert.equal(v.error, undefined);
  assert.deepEqual(v.missing.map((m) => m.message), [6]);
  assert.deepEqual(v.different.map((d) => [d.message, d.file]), [[5, `cur/${fifth.name.split(":")[0]}:2,F`]]);
  assert.deepEqual(v.extra, []);
});

test("a source that lost messages since its migration (a POP3 client deleted them) shows their files as extra, not every later message as different", async () => {
  const { root, source, maildir, expected } = await migrated("iris", 7);
  const files = maildirMessages(maildir);
  const relOfMessage = (i: number) => {
    const f = files.find((file) => file.bytes.equals(expected[i])) as { sub: string; name: string };
    return `${f.sub}/${f.name}`;
  };
  // The first and the fifth go from the mbox; the rest move up.
  fs.writeFileSync(source, buildMbox([1, 2, 3, 5, 6].map((i) => expected[i]), "mboxrd").mbox);
  const v = await verifyMailbox({ source, user: "iris" }, testOptions(root));
  assert.equal(v.status, "differs");
  assert.deepEqual([v.missing, v.different, v.sourceMessages, v.maildirMessages], [[], [], 5, 7]);
  assert.deepEqual(v.extra, [relOfMessage(0), relOfMessage(4)].sort());
  assert.equal(v.sourceChangedAt, 0, "its first message is another now");
  assert.equal(v.notYetMigrated, undefined);

  // The last file changed as well: the journal's pairing no longer holds there (the source
  // moved), so its message has no file of its bytes (missing) and the file is no message's.
  fs.appendFileSync(path.join(maildir, relOfMessage(6)), "tampered\n");
  const changed = await verifyMailbox({ source, user: "iris" }, testOptions(root));
  assert.deepEqual(changed.missing.map((m) => m.message), [5]);
  assert.deepEqual(changed.different, []);
  assert.deepEqual(changed.extra, [relOfMessage(0), relOfMessage(4), relOfMessage(6)].sort());

  // Back as migrated (a source that only grew keeps its pairing): the changed file is
  // different again, named with its message.
  fs.writeFileSync(source, buildMbox([...expected, expected[2]], "mboxrd").mbox);
  const grown = await verifyMailbox({ source, user: "iris" }, testOptions(root));
  assert.deepEqual(grown.different.map((d) => [d.message, d.file]), [[7, relOfMessage(6)]]);
  assert.deepEqual(grown.missing.map((m) => m.message), [8], "the message added since is not migrated yet");
  assert.equal(grown.notYetMigrated, 1);
  assert.deepEqual(grown.extra, []);
  assert.equal(grown.sourceChangedAt, undefined, "a source that grew has not changed");

  // Cut after its sixth message: the journal holds more than the source has.
  const six = buildMbox(expected.slice(0, 6), "mboxrd").mbox;
  fs.writeFileSync(source, six);
  const cut = await verifyMailbox({ source, user: "iris" }, testOptions(root));
  assert.equal(cut.sourceChangedAt, six.length);
  assert.deepEqual([cut.missing, cut.different, cut.extra], [[], [], [relOfMessage(6)]]);
});

test("past a change in the source, a file a mail client renames or expunges while verify runs is matched under its new name, or its message is missing; verify does not fail", async () => {
  const { root, source, maildir, expected } = await migrated("jack", 6);
  const files = maildirMessages(maildir);
  const fileOfMessage = (i: number) => files.find((f) => f.bytes.equals(expected[i])) as { sub: string; name: string };
  fs.writeFileSync(source, buildMbox(expected.slice(1), "mboxrd").mbox);
  const [first, fourth, fifth] = [fileOfMessage(0), fileOfMessage(3), fileOfMessage(4)];
  const read = (f: { name: string }) => `${f.name.split(":")[0]}:2,S`;
  let messages = 0;
  const progress = (_bytes: number, n: number) => {
    messages += n;
    if (messages !== 2 || n === 0) return;
    fs.renameSync(fileOf(maildir, fourth), path.join(maildir, "cur", read(fourth)));
    fs.unlinkSync(fileOf(maildir, fifth));
    // The file the source lost, read meanwhile: extra, under the name it has now.
    fs.renameSync(fileOf(maildir, first), path.join(maildir, "cur", read(first)));
  };
  const v = await verifyMailbox({ source, user: "jack" }, testOptions(root), progress);
  assert.equal(v.error, undefined);
  assert.equal(v.sourceChangedAt, 0);
  assert.deepEqual(v.missing.map((m) => m.message), [4], "the expunged fifth message, fourth in the source now");
  assert.deepEqual(v.different, []);
  assert.deepEqual(v.extra, [`cur/${read(first)}`]);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { globFiles, isLockFileName, isMuttHitchingPost, mboxFiles, resolveTasks, UsageError } from "../../src/commands/sources.js";
import { tempDir } from "../helpers/mbox.js";

/** A spool caught mid-delivery: two mailboxes, and the lock files of several delivery agents. */
function spoolWithLocks(): string {
  const spool = tempDir();
  for (const name of ["alice", "bob"]) fs.writeFileSync(path.join(spool, name), "From a@b Thu Sep 18 17:00:04 2008\nSubject: x\n\nbody\n");
  const locks = [
    "alice.lock", // the dotlock itself
    "bob.lock.mail.example.org.6740f2a1.00003039", // Exim's hitching post (exim4: "%s.%s.%08x.%08x" after "%s.lock")
    ".lk0123456740f2a1mail", // liblockfile's temporary file
    ".alice.lock.mail.4242.0acd3a58", // mailstore's own temporary file
    "_7IB.5TNBrB.mail", // procmail's (3.23pre; its lockfile(1) linked "_7IB.5TNBrB.vm" on this machine, seen with strace)
    "_-LB.EUNBrB.mail.example.org", // procmail's again, a digit its base 64 has and a dotted host
  ];
  for (const name of locks) fs.writeFileSync(path.join(spool, name), "4242\n");
  // mutt_dotlock's, empty (it made "alice.vm.9624" for "alice" on this machine, seen with strace).
  fs.writeFileSync(path.join(spool, "bob.mail.example.org.9624"), "");
  fs.symlinkSync("alice", path.join(spool, "carol"));
  return spool;
}

test("a glob of a spool and a spool directory yield its mailboxes, never a delivery agent's lock files or a symlink", () => {
  const spool = spoolWithLocks();
  assert.deepEqual(globFiles(path.join(spool, "*")).map((f) => path.basename(f)), ["alice", "bob"]);
  assert.deepEqual(mboxFiles(spool).map((f) => path.basename(f)), ["alice", "bob"]);
  assert.deepEqual(resolveTasks([path.join(spool, "*")], {}).map((t) => t.user), ["alice", "bob"]);
});

test("a mailbox named like a lock file is still taken when it is named on its own", () => {
  const spool = spoolWithLocks();
  const odd = path.join(spool, "bob.lock.mail.example.org.6740f2a1.00003039");
  assert.deepEqual(resolveTasks([odd], {}), [{ source: odd, user: path.basename(odd), folder: undefined }]);
});

test("lock file names: dot files, dotlocks and hitching posts; mailbox names with 'lock' in them are not", () => {
  for (const name of [".lk12345", "alice.lock", "alice.lock.host.5f2a3b1c.00001234", ".alice.lock.vm.1.ab", "_7IB.5TNBrB.vm", "_zKB.EUNBrB.mail.example.org"]) assert.equal(isLockFileName(name), true, name);
  // Names a user or an archive may have: one dot at most after an underscore, or none at the start.
  for (const name of ["alice", "lockhart", "alice.locke", "block", "sherlock", "_apt", "_www.old", "mary_ann.smith.2019"]) assert.equal(isLockFileName(name), false, name);
});

test("--from-list: white space separates, tabs where a path or folder holds a space; a comment starts a line or follows white space", () => {
  const dir = tempDir();
  const list = path.join(dir, "list");
  fs.writeFileSync(
    list,
    [
      "# path user folder",
      "/var/mail/alice alice",
      "/home/bob/mail/sent bob Sent   # saved by mutt",
      "/home/carol/Mail/Sent Items.mbox\tcarol\tSent Items\r",
      "\t/home/dan/mail/#inbox#\tdan\t",
      "",
    ].join("\n"),
  );
  assert.deepEqual(resolveTasks([], { fromList: list }), [
    { source: "/var/mail/alice", user: "alice", folder: undefined },
    { source: "/home/bob/mail/sent", user: "bob", folder: "Sent" },
    { source: "/home/carol/Mail/Sent Items.mbox", user: "carol", folder: "Sent Items" },
    { source: "/home/dan/mail/#inbox#", user: "dan", folder: undefined },
  ]);
  // Spaces where tabs were meant: too many fields, refused with the line named.
  fs.writeFileSync(list, "/home/carol/Mail/Sent Items.mbox carol Sent Items\n");
  assert.throws(() => resolveTasks([], { fromList: list }), /list:1: expected "path user \[folder\]" \(tab-separated if a field holds a space\)/);
});

test("only an empty file beside its mailbox passes for mutt_dotlock's hitching post: one holding mail, or with no mailbox beside it, is a mailbox", () => {
  const spool = spoolWithLocks();
  const mail = "From a@b Thu Sep 18 17:00:04 2008\nSubject: x\n\nbody\n";
  fs.writeFileSync(path.join(spool, "alice.old.1"), mail);
  fs.writeFileSync(path.join(spool, "zed.vm.77"), "");
  assert.deepEqual(mboxFiles(spool).map((f) => path.basename(f)), ["alice", "alice.old.1", "bob", "zed.vm.77"]);
  assert.deepEqual(globFiles(path.join(spool, "*")).map((f) => path.basename(f)), ["alice", "alice.old.1", "bob", "zed.vm.77"]);
  assert.equal(isMuttHitchingPost(path.join(spool, "bob.mail.example.org.9624")), true);
  fs.writeFileSync(path.join(spool, "bob.mail.example.org.9624"), mail);
  assert.equal(isMuttHitchingPost(path.join(spool, "bob.mail.example.org.9624")), false, "it holds mail now");
});

test("a bad --user or --folder is a usage error before any mailbox is planned; INBOX in any case, or none, is the INBOX", () => {
  const spool = spoolWithLocks();
  const alice = path.join(spool, "alice");
  for (const [opts, message] of [
    [{ user: "" }, /^--user: user name is empty$/],
    [{ user: "../etc" }, /^--user: user name "\.\.\/etc" contains "\/"$/],
    [{ user: ".cache" }, /^--user: user name "\.cache" starts with "\."$/],
    [{ folder: "a//b" }, /^--folder: folder "a\/\/b" has an empty level$/],
    [{ folder: "Archive/2019.old" }, /^--folder: folder "Archive\/2019\.old": "\." is the Maildir\+\+ level separator/],
  ] as const) {
    assert.throws(() => resolveTasks([alice], opts), (err: Error) => err instanceof UsageError && message.test(err.message), JSON.stringify(opts));
  }
  for (const folder of ["INBOX", "inbox", "", "Archive/2019"]) assert.equal(resolveTasks([alice], { folder })[0].folder, folder);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { namesOneMailbox, positionalArgs, VALUE_OPTIONS } from "../../src/commands/lone-source.js";
import { registerMigrate } from "../../src/commands/migrate.js";
import { registerVerify } from "../../src/commands/verify.js";

test("VALUE_OPTIONS are exactly the options of migrate and verify that take a value", () => {
  const program = new Command();
  registerMigrate(program);
  registerVerify(program);
  const taking = new Set(program.commands.flatMap((cmd) => cmd.options.filter((o) => o.required || o.optional).map((o) => o.long ?? "")));
  assert.deepEqual([...taking].sort(), [...VALUE_OPTIONS].sort());
});

test("one mailbox is told from the arguments: --user, or one source that is not a pattern", () => {
  const one = (...args: string[]) => namesOneMailbox(args);
  assert.equal(one("--root", "/srv/mail", "/var/mail/alice"), true);
  assert.equal(one("--root=/srv/mail", "--jobs", "2", "--json", "/var/mail/alice"), true);
  assert.equal(one("--root", "/srv/mail", "--user", "bob", "/tmp/export.mbox"), true);
  assert.equal(one("--root", "/srv/mail", "--user=bob", "/tmp/export.mbox"), true);
  assert.equal(one("--root", "/srv/mail", "--", "-odd-name"), true);
  assert.equal(one("--root", "/srv/mail", "/var/mail/alice", "/var/mail/bob"), false);
  assert.equal(one("--root", "/srv/mail", "/var/mail/*"), false);
  assert.equal(one("--root", "/srv/mail", "/var/mail/{alice,bob}"), false);
  assert.equal(one("--root", "/srv/mail", "--from-list", "/etc/mailboxes"), false);
  assert.equal(one("--root", "/srv/mail"), false);
  // An option's value is not a source, whatever it looks like.
  assert.deepEqual(positionalArgs(["--folder", "Archive/2019", "--owner", "8:8", "--format", "mboxrd", "a", "--lock-timeout", "5", "b"]), ["a", "b"]);
});

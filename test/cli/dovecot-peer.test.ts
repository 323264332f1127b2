import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { mailstore } from "../helpers/cli.js";
import { FIXTURES, maildirMessages, tempDir } from "../helpers/mbox.js";

// A real peer: Dovecot (Debian's dovecot-core) must read the migrated Maildir as the mbox
// meant it: same order, flags, sizes, received dates and bytes. Dovecot will not open mail
// as root, so the Maildir is handed to a system user "vmail".
const doveadm = spawnSync("sh", ["-c", "command -v doveadm"]).status === 0;
const vmail = spawnSync("id", ["-u", "vmail"], { encoding: "utf8" });
const skip = !doveadm ? "doveadm not installed (apt-get install dovecot-core)" : process.getuid?.() !== 0 ? "needs root to hand the Maildir to vmail" : vmail.status !== 0 ? "no vmail user (useradd -r vmail)" : false;

test("Dovecot reads the migrated Maildir: order, flags, sizes, dates and bytes", { skip }, () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, "root");
  const uid = vmail.stdout.trim();
  const gid = spawnSync("id", ["-g", "vmail"], { encoding: "utf8" }).stdout.trim();
  const r = mailstore(["migrate", "--root", root, "--owner", `${uid}:${gid}`, path.join(FIXTURES, "demo", "alice")]);
  assert.equal(r.status, 0, r.stderr);
  const maildir = mailstore(["path", "--root", root, "alice"]).stdout.trim();
  const conf = path.join(dir, "dovecot.conf");
  fs.writeFileSync(conf, `mail_location = maildir:${maildir}\nssl = no\nlog_path = /dev/stderr\nmail_uid = vmail\nmail_gid = vmail\n`, { mode: 0o644 });
  const env = { ...process.env, USER: "alice", HOME: maildir };
  const doveadmRun = (...args: string[]) => spawnSync("doveadm", ["-c", conf, ...args], { env, encoding: "buffer" });

  const status = doveadmRun("mailbox", "status", "messages unseen", "INBOX").stdout.toString();
  assert.match(status, /messages=60 unseen=45/);
  const ours = maildirMessages(maildir);
  for (const uidNo of [1, 2, 3, 30, 60]) {
    const meta = doveadmRun("fetch", "flags size.physical", "uid", String(uidNo)).stdout.toString();
    const mine = ours[uidNo - 1];
    assert.match(meta, new RegExp(`size.physical: ${mine.bytes.length}`), `uid ${uidNo}`);
    assert.equal(/\\Seen/.test(meta), /:2,.*S/.test(mine.name), `uid ${uidNo} seen`);
    assert.equal(/\\Flagged/.test(meta), /:2,.*F/.test(mine.name), `uid ${uidNo} flagged`);
    const text = doveadmRun("fetch", "text", "uid", String(uidNo)).stdout;
    const body = text.subarray(text.indexOf(0x0a) + 1);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    assert.equal(sha(body), sha(mine.bytes), `uid ${uidNo} bytes`);
  }
});

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

test("Dovecot serves the migrated Maildir under the mbox's own UIDs, UIDVALIDITY and POP3 UIDLs, X-UIDLs included", { skip }, () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const owner = `${vmail.stdout.trim()}:${spawnSync("id", ["-g", "vmail"], { encoding: "utf8" }).stdout.trim()}`;
  // Dovecot's mbox view of each file, against its view of what mailstore made of it: an mbox
  // Dovecot wrote (X-IMAPbase) and one UW-IMAP wrote (X-IMAP in its pseudo message).
  const writers = [
    { user: "erin", fixture: "dovecot-uids", status: "messages=35 uidnext=38 uidvalidity=1796647924" },
    { user: "gina", fixture: "uw-imap-uids", status: "messages=28 uidnext=38 uidvalidity=1796649673" },
  ];
  const homeOf = (user: string) => path.join(dir, `${user}-mbox-home`);
  for (const { user, fixture } of writers) {
    fs.mkdirSync(path.join(homeOf(user), "mail"), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, "mbox", fixture), path.join(homeOf(user), "inbox"));
    fs.copyFileSync(path.join(FIXTURES, "mbox", fixture), path.join(dir, user));
    spawnSync("chown", ["-R", owner, homeOf(user)]);
  }
  // As qpopper kept them: a POP3 UIDL in each message, which Dovecot's mbox code does not use.
  const withUidls = fs.readFileSync(path.join(FIXTURES, "mbox", "dovecot-uids"), "latin1").replace(/^X-UID: *(\d+).*$/gm, (line, uid) => `${line}\nX-UIDL: qp${uid}.e4f1`);
  fs.writeFileSync(path.join(dir, "frank"), withUidls, "latin1");
  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, "--owner", owner, ...writers.map((w) => path.join(dir, w.user)), path.join(dir, "frank")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /erin: .*dovecot-uidlist: 35 UIDs kept, 0 new/);
  assert.match(r.stdout, /gina: .*dovecot-uidlist: 28 UIDs kept, 0 new/);

  const view = (mailLocation: string, user: string, home: string) => {
    const conf = path.join(dir, `${user}-${mailLocation.split(":")[0]}.conf`);
    fs.writeFileSync(conf, `mail_location = ${mailLocation}\nssl = no\nlog_path = /dev/stderr\nmail_uid = vmail\nmail_gid = vmail\n`, { mode: 0o644 });
    const env = { ...process.env, USER: user, HOME: home };
    const run = (...args: string[]) => spawnSync("doveadm", ["-c", conf, ...args], { env, encoding: "utf8" });
    // Through a shell's pipe: on a socket (as Node's stdio is) the pop3 binary takes itself for inetd's and refuses.
    const pop3 = fs.existsSync("/usr/lib/dovecot/pop3") ? spawnSync("sh", ["-c", `printf 'UIDL\\r\\nQUIT\\r\\n' | /usr/lib/dovecot/pop3 -c '${conf}' | cat`], { env, encoding: "utf8" }).stdout : null;
    return {
      status: run("mailbox", "status", "messages uidvalidity uidnext", "INBOX").stdout,
      fetched: run("fetch", "uid flags hdr.message-id", "all").stdout,
      uidls: run("fetch", "uid pop3.uidl", "all").stdout,
      pop3,
    };
  };
  for (const { user, status } of writers) {
    const fromMbox = view(`mbox:${homeOf(user)}/mail:INBOX=${homeOf(user)}/inbox`, user, homeOf(user));
    const maildir = mailstore(["path", "--root", root, user]).stdout.trim();
    const fromMaildir = view(`maildir:${maildir}`, user, maildir);
    assert.equal(fromMbox.status.trim(), `INBOX ${status}`, user);
    assert.equal(fromMaildir.status, fromMbox.status, user);
    assert.equal(fromMaildir.fetched, fromMbox.fetched, user);
    if (fromMbox.pop3 !== null) {
      assert.match(fromMbox.pop3, /^\+OK\r?\n(\d+ [0-9a-f]{16}\r\n)+\.\r\n/, user);
      assert.equal(fromMaildir.pop3, fromMbox.pop3, user);
    }
    if (user === "erin") assert.match(fromMbox.fetched, /uid: 10\nflags: \\Flagged \$Forwarded\n/);
  }

  const frank = mailstore(["path", "--root", root, "frank"]).stdout.trim();
  const uidls = view(`maildir:${frank}`, "frank", frank).uidls;
  const pairs = [...uidls.matchAll(/uid: (\d+)\npop3\.uidl: (\S+)/g)].map((m) => [m[1], m[2]]);
  assert.equal(pairs.length, 35);
  for (const [uid, uidl] of pairs) assert.equal(uidl, `qp${uid}.e4f1`);
});

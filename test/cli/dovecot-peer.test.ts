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
  // Dovecot's mbox view of its own file, against its view of what mailstore made of it.
  const mboxHome = path.join(dir, "mbox-home");
  fs.mkdirSync(path.join(mboxHome, "mail"), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, "mbox", "dovecot-uids"), path.join(mboxHome, "inbox"));
  // As qpopper kept them: a POP3 UIDL in each message, which Dovecot's mbox code does not use.
  const withUidls = fs.readFileSync(path.join(FIXTURES, "mbox", "dovecot-uids"), "latin1").replace(/^X-UID: *(\d+).*$/gm, (line, uid) => `${line}\nX-UIDL: qp${uid}.e4f1`);
  fs.writeFileSync(path.join(dir, "frank"), withUidls, "latin1");
  spawnSync("chown", ["-R", owner, mboxHome]);
  fs.copyFileSync(path.join(mboxHome, "inbox"), path.join(dir, "erin"));
  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, "--owner", owner, path.join(dir, "erin"), path.join(dir, "frank")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /erin: .*dovecot-uidlist: 35 UIDs kept, 0 new/);

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
  const fromMbox = view(`mbox:${mboxHome}/mail:INBOX=${mboxHome}/inbox`, "erin", mboxHome);
  const erin = mailstore(["path", "--root", root, "erin"]).stdout.trim();
  const fromMaildir = view(`maildir:${erin}`, "erin", erin);
  assert.match(fromMbox.status, /messages=35 uidnext=38 uidvalidity=1796647924/);
  assert.equal(fromMaildir.status, fromMbox.status);
  assert.match(fromMbox.fetched, /uid: 10\nflags: \\Flagged \$Forwarded\n/);
  assert.equal(fromMaildir.fetched, fromMbox.fetched);
  if (fromMbox.pop3 !== null) {
    assert.match(fromMbox.pop3, /^1 000000016b16abf4\r$/m);
    assert.equal(fromMaildir.pop3, fromMbox.pop3);
  }

  const frank = mailstore(["path", "--root", root, "frank"]).stdout.trim();
  const uidls = view(`maildir:${frank}`, "frank", frank).uidls;
  const pairs = [...uidls.matchAll(/uid: (\d+)\npop3\.uidl: (\S+)/g)].map((m) => [m[1], m[2]]);
  assert.equal(pairs.length, 35);
  for (const [uid, uidl] of pairs) assert.equal(uidl, `qp${uid}.e4f1`);
});

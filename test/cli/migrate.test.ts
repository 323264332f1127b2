import assert from "node:assert/strict";
import { execSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import zlib from "node:zlib";
import { CLI, mailstore } from "../helpers/cli.js";
import { indexAndRescan } from "../helpers/index-dump.js";
import { buildMbox, FIXTURES, maildirMessages, realMessages, tempDir, type Writer, writeRealMbox } from "../helpers/mbox.js";
import { withTmpfs } from "../helpers/tree.js";

const md5path = (root: string, user: string) => {
  const h = execSync(`printf %s '${user}' | md5sum`).toString();
  return path.join(root, h.slice(0, 2), h.slice(2, 4), user);
};

test("every mbox variant, CRLF and the real sisimai mbox migrate exactly; JSON summary; exit 0", () => {
  const dir = tempDir();
  const spool = path.join(dir, "spool");
  fs.mkdirSync(spool);
  const lf = realMessages("lf").map((m) => m.bytes);
  const expected = new Map<string, Buffer[]>();
  for (const writer of ["mboxrd", "mboxo", "mboxcl", "mboxcl2"] as Writer[]) {
    const msgs = writer === "mboxo" ? lf.filter((m) => !/^>+From /m.test(m.toString("latin1"))) : lf;
    const built = buildMbox(msgs, writer);
    fs.writeFileSync(path.join(spool, writer), built.mbox);
    expected.set(writer, built.expected);
  }
  const crlf = buildMbox(realMessages("crlf").map((m) => m.bytes), "mboxrd", { crlf: true });
  fs.writeFileSync(path.join(spool, "windows"), crlf.mbox);
  expected.set("windows", crlf.expected);
  fs.copyFileSync(path.join(FIXTURES, "mbox", "mbox-0"), path.join(spool, "sisimai"));

  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, "--json", path.join(spool, "*")]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.totals.mailboxes, 6);
  assert.equal(summary.totals.failed, 0);
  for (const m of summary.mailboxes) {
    assert.deepEqual(Object.keys(m).filter((k) => ["user", "source", "target", "messages", "bytes", "seconds", "status"].includes(k)).length, 7);
    assert.equal(m.target, md5path(root, m.user));
  }
  for (const [user, msgs] of expected) {
    const got = maildirMessages(md5path(root, user));
    assert.equal(got.length, msgs.length, user);
    got.forEach((m, i) => assert.ok(m.bytes.equals(msgs[i]), `${user} message ${i}`));
  }
  assert.equal(maildirMessages(md5path(root, "sisimai")).length, 37);
  const v = mailstore(["verify", "--root", root, path.join(spool, "*")]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /6 of 6 mailboxes match/);
});

test("a bad file beside good ones fails alone, loudly, untouched; exit 1", () => {
  const dir = tempDir();
  const spool = path.join(dir, "spool");
  fs.mkdirSync(spool);
  writeRealMbox(path.join(spool, "good1"), 3);
  fs.copyFileSync(path.join(FIXTURES, "eml", "lf", realMessages("lf", 1)[0].name), path.join(spool, "notmbox"));
  writeRealMbox(path.join(spool, "good2"), 4);
  fs.copyFileSync(path.join(FIXTURES, "mbox", "size-0"), path.join(spool, "empty"));
  fs.writeFileSync(path.join(spool, "archived"), zlib.gzipSync(fs.readFileSync(path.join(spool, "good1"))));
  const before = fs.readFileSync(path.join(spool, "notmbox"));
  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, "--jobs", "2", ...["good1", "notmbox", "good2", "empty", "archived"].map((f) => path.join(spool, f))]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /FAILED notmbox: .*spool\/notmbox: not an mbox: the file does not begin with a From_ line; it begins with a header field, as a single message \(\.eml\) does/);
  assert.match(r.stderr, /FAILED archived: .*spool\/archived: not an mbox: the file does not begin with a From_ line; it is gzip-compressed: decompress it \(zcat\) and migrate the result\n/);
  assert.ok(!fs.existsSync(md5path(root, "archived")));
  assert.equal(maildirMessages(md5path(root, "good1")).length, 3);
  assert.equal(maildirMessages(md5path(root, "good2")).length, 4);
  assert.equal(maildirMessages(md5path(root, "empty")).length, 0);
  assert.ok(fs.readFileSync(path.join(spool, "notmbox")).equals(before));
  assert.ok(!fs.existsSync(md5path(root, "notmbox")), "no Maildir is made for a file that is not an mbox");
  assert.match(r.stdout, /from 3 of 5 mailboxes.*2 failed/);
});

test("a FIFO named as a source fails alone, at once, in migrate and verify; the others complete", () => {
  const dir = tempDir();
  const good = path.join(dir, "good");
  writeRealMbox(good, 3);
  const fifo = path.join(dir, "pipe");
  execSync(`mkfifo '${fifo}'`);
  const root = path.join(dir, "root");
  // Opened as a plain file, a FIFO waits for a writer that never comes: the run would hang.
  for (const command of ["migrate", "verify"]) {
    const r = mailstore([command, "--root", root, good, fifo], { timeoutMs: 30_000 });
    assert.equal(r.status, 1, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /FAILED pipe: .*pipe: is not a regular file/, command);
  }
  assert.equal(maildirMessages(md5path(root, "good")).length, 3);
  assert.ok(!fs.existsSync(md5path(root, "pipe")));
});

test("interrupted by SIGINT or SIGTERM, a run removes the dotlock it holds, exits 130 or 143 and says so; the next run migrates all", async () => {
  const dir = tempDir();
  const src = path.join(dir, "ivan");
  writeRealMbox(src, 5);
  const before = fs.readFileSync(src);
  const root = path.join(dir, "root");
  // This process holds an fcntl lock on the source, as a delivery would: the run takes the
  // dotlock, then waits for the fcntl lock, and is interrupted while it waits.
  const { lock, unlock } = await import("os-lock");
  const fd = fs.openSync(src, "r+");
  await lock(fd, { exclusive: true });
  try {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const child = spawn(process.execPath, [CLI, "migrate", "--root", root, "--no-progress", src], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      for (let waited = 0; !fs.existsSync(`${src}.lock`); waited += 20) {
        assert.ok(waited < 20_000, "the run took the dotlock");
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill(signal);
      assert.equal(await exited, code, stderr);
      assert.match(stderr, new RegExp(`interrupted by ${signal}; 1 source lock removed; run the same command again`));
      assert.deepEqual(fs.readdirSync(dir).sort(), ["ivan", "root"], "no dotlock nor its temporary file is left");
    }
  } finally {
    await unlock(fd);
    fs.closeSync(fd);
  }
  assert.ok(fs.readFileSync(src).equals(before));
  const r = mailstore(["migrate", "--root", root, "--no-progress", src]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(maildirMessages(md5path(root, "ivan")).length, 5);
});

test("symlinked source refused, usage errors exit 2, path prints the hashed home", () => {
  const dir = tempDir();
  const real = path.join(dir, "real");
  writeRealMbox(real, 2);
  fs.symlinkSync(real, path.join(dir, "ivan"));
  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, path.join(dir, "ivan")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /symlink.*--follow-symlinks/);
  assert.equal(mailstore(["migrate", "--root", root, "--follow-symlinks", path.join(dir, "ivan")]).status, 0);

  assert.equal(mailstore(["migrate", "--root", root, "--user", "x", real, real]).status, 2);
  assert.equal(mailstore(["migrate", "--root", root, "--format", "weird", real]).status, 2);
  assert.equal(mailstore(["migrate", "--root", root, "--fanout", "1", real]).status, 2, "a root keeps its fanout");
  assert.equal(mailstore(["migrate", "--root", root]).status, 2);
  // A bad --user or --folder is the command line's mistake (2, before anything is read); a
  // bad name that comes from a file's name fails that mailbox alone (1).
  const before = fs.readdirSync(root);
  const bad = mailstore(["migrate", "--root", root, "--user", "../etc", real]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^mailstore: --user: user name "\.\.\/etc" contains "\/"/);
  const badFolder = mailstore(["migrate", "--root", root, "--folder", "Archive/.hidden", real]);
  assert.equal(badFolder.status, 2);
  assert.match(badFolder.stderr, /^mailstore: --folder: folder "Archive\/\.hidden" has a level starting with "\."/);
  assert.equal(mailstore(["verify", "--root", root, "--user", "", real]).status, 2);
  assert.deepEqual(fs.readdirSync(root), before, "nothing made for them");
  const tabbed = path.join(dir, "tab\tname");
  fs.copyFileSync(real, tabbed);
  const badFile = mailstore(["migrate", "--root", root, tabbed, real]);
  assert.equal(badFile.status, 1);
  assert.match(badFile.stderr, /FAILED tab\tname: .*holds control characters/);

  const p = mailstore(["path", "--root", root, "alice"]);
  assert.equal(p.stdout.trim(), md5path(root, "alice"));

  // Verify against a root that holds no Maildir for the user says so, instead of listing
  // every message as missing; commands that read a tree refuse a root that does not exist.
  const elsewhere = path.join(dir, "elsewhere");
  fs.mkdirSync(elsewhere);
  const v = mailstore(["verify", "--root", elsewhere, real]);
  assert.equal(v.status, 1);
  assert.match(v.stdout, /^DIFFERS  real: .*: 2 missing, 0 extra, 0 different\n  there is no Maildir at .*elsewhere\/.*\/real: the mailbox was not migrated, or was migrated under another --root or --fanout\n0 of 1 mailboxes match/);
  assert.equal(JSON.parse(mailstore(["verify", "--json", "--root", elsewhere, real]).stdout).mailboxes[0].noMaildir, true);
  assert.equal(JSON.parse(mailstore(["verify", "--json", "--root", root, "--follow-symlinks", path.join(dir, "ivan")]).stdout).mailboxes[0].noMaildir, undefined);
  for (const [command, ...args] of [["index"], ["report"], ["stat", "ivan"], ["list", "ivan"]]) {
    const r = mailstore([command, "--root", path.join(dir, "nowhere"), ...args]);
    assert.equal(r.status, 2, command);
    assert.match(r.stderr, /--root .*nowhere does not exist/, command);
  }
});

test("--from-list and --folder place mail in users' folders; dry run writes nothing", () => {
  const dir = tempDir();
  const a = path.join(dir, "a.mbox");
  const b = path.join(dir, "b.mbox");
  writeRealMbox(a, 2);
  writeRealMbox(b, 3);
  const c = path.join(dir, "Sent Items.mbox");
  writeRealMbox(c, 4);
  const list = path.join(dir, "list");
  fs.writeFileSync(list, `# path user folder\n${a} judy\n${b} judy Sent\n${c}\tjudy\tSent Items\n`);
  const root = path.join(dir, "root");
  const dry = mailstore(["migrate", "--root", root, "--dry-run", "--from-list", list]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would migrate 9 messages/);
  assert.equal(fs.existsSync(root), false);
  const r = mailstore(["migrate", "--root", root, "--from-list", list]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(maildirMessages(md5path(root, "judy")).length, 2);
  assert.equal(maildirMessages(path.join(md5path(root, "judy"), ".Sent")).length, 3);
  assert.equal(maildirMessages(path.join(md5path(root, "judy"), ".Sent Items")).length, 4);
  const again = mailstore(["migrate", "--root", root, "--json", "--from-list", list]);
  assert.deepEqual(JSON.parse(again.stdout).mailboxes.map((m: { status: string }) => m.status), ["unchanged", "unchanged", "unchanged"]);
  assert.equal(mailstore(["verify", "--root", root, "--from-list", list]).status, 0);
});

test("a disk that fills mid-delivery fails that mailbox alone, leaves only whole messages and its source untouched; the rerun completes it", (t) => {
  const dir = tempDir();
  const mnt = path.join(dir, "mnt");
  const src = path.join(dir, "uma");
  const built = writeRealMbox(src, 1200);
  withTmpfs(t, mnt, "size=3m", () => {
    const root = path.join(mnt, "root");
    const feedAll = { MAILSTORE_INDEX_FEED_MIN_BYTES: "0", MAILSTORE_INDEX_FEED_THREAD: "1" };
    const r = mailstore(["migrate", "--root", root, "--json", src], { env: feedAll });
    assert.equal(r.status, 1, r.stderr);
    const [result] = JSON.parse(r.stdout).mailboxes;
    assert.equal(result.status, "failed");
    assert.match(result.error, /uma: .*(ENOSPC|no space left)/i);
    assert.ok(fs.readFileSync(src).equals(built.mbox), "the source is untouched");
    assert.ok(!fs.existsSync(`${src}.lock`), "the source's dotlock is released");
    const whole = new Set(built.expected.map((m) => m.toString("latin1")));
    const delivered = maildirMessages(md5path(root, "uma"));
    for (const m of delivered) assert.ok(whole.has(m.bytes.toString("latin1")), `partial file ${m.name}`);

    assert.equal(spawnSync("mount", ["-o", "remount,size=64m", mnt]).status, 0);
    const again = mailstore(["migrate", "--root", root, "--json", src], { env: feedAll });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(maildirMessages(md5path(root, "uma")).length, 1200);
    assert.equal(mailstore(["verify", "--root", root, src]).status, 0);
    const { kept, rescanned } = indexAndRescan(root, "uma", path.join(mnt, "kept.sqlite"), { byName: true });
    assert.deepEqual(kept, rescanned);
  });
});

test("with a descriptor table of 64, messages held open give way to files named in tmp/: all 600 land, verify agrees", () => {
  const dir = tempDir();
  const src = path.join(dir, "lena");
  writeRealMbox(src, 600);
  const root = path.join(dir, "root");
  // One batch of 600 unnamed files would need 600 descriptors; at most half the table (32) is held.
  const r = spawnSync("bash", ["-c", 'ulimit -n 64 && exec "$0" "$@"', process.execPath, CLI, "migrate", "--root", root, "--no-progress", src], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /600 messages/);
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 0, v.stdout);
  assert.deepEqual(fs.readdirSync(path.join(md5path(root, "lena"), "tmp")), []);
});

test("linked through /proc/self/fd (a run as a user on Linux before 6.10), or named in tmp/ where that is missing: every message lands exactly, and a rerun adds nothing", () => {
  const dir = tempDir();
  const lf = realMessages("lf").map((m) => m.bytes);
  const built = buildMbox(Array.from({ length: 90 }, (_, i) => lf[i % lf.length]), "mboxrd");
  for (const [user, fdDir] of [
    ["viaproc", "/proc/self/fd"],
    ["noproc", path.join(dir, "no-such-dir")],
  ]) {
    const src = path.join(dir, user);
    fs.writeFileSync(src, built.mbox);
    const root = path.join(dir, "root");
    const env = { MAILSTORE_FD_DIR: fdDir };
    const r = mailstore(["migrate", "--root", root, "--no-progress", src], { env });
    assert.equal(r.status, 0, r.stderr);
    const maildir = md5path(root, user);
    const got = maildirMessages(maildir);
    assert.equal(got.length, built.expected.length, user);
    got.forEach((m, i) => assert.ok(m.bytes.equals(built.expected[i]), `${user} message ${i}`));
    assert.ok(fs.statSync(path.join(maildir, "mailstore-journal.sqlite")).size > 0, `${user}: the journal was made`);
    assert.deepEqual(fs.readdirSync(path.join(maildir, "tmp")), [], `${user}: nothing left in tmp/`);
    const again = mailstore(["migrate", "--root", root, "--no-progress", "--json", src], { env });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).totals.messages, 0, `${user}: a rerun adds nothing`);
    assert.equal(mailstore(["verify", "--root", root, src]).status, 0, user);
  }
});

test("a source a POP3 client emptied of its first message since the migration: migrate refuses it untouched, verify shows that one file as extra and says where the source changed", () => {
  const dir = tempDir();
  const src = path.join(dir, "nora");
  const msgs = realMessages("lf", 6).map((m) => m.bytes);
  fs.writeFileSync(src, buildMbox(msgs, "mboxrd").mbox);
  const root = path.join(dir, "root");
  assert.equal(mailstore(["migrate", "--root", root, "--no-progress", src]).status, 0);
  const first = maildirMessages(md5path(root, "nora")).find((m) => m.bytes.equals(buildMbox(msgs.slice(0, 1), "mboxrd").expected[0]));
  assert.ok(first);
  const shrunk = buildMbox(msgs.slice(1), "mboxrd").mbox;
  fs.writeFileSync(src, shrunk);
  const again = mailstore(["migrate", "--root", root, "--no-progress", src]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /nora: .*changed since 6 message\(s\) were migrated/);
  assert.ok(again.stderr.includes(`move ${md5path(root, "nora")} aside first`), "the way out it names is the Maildir, not the journal alone");
  assert.ok(fs.readFileSync(src).equals(shrunk), "the source is untouched");
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 1);
  assert.match(v.stdout, /0 missing, 1 extra, 0 different/);
  assert.match(v.stdout, /the source changed since it was migrated, from byte 0/);
  assert.match(v.stdout, new RegExp(`extra +${first.sub}/${first.name.replace(/[.,:]/g, "\\$&")}`));
  // The way out that keeps the Maildir as it is: the source into a folder of its own.
  const own = mailstore(["migrate", "--root", root, "--no-progress", "--folder", "Old-mail", src]);
  assert.equal(own.status, 0, own.stderr);
  assert.equal(maildirMessages(path.join(md5path(root, "nora"), ".Old-mail")).length, 5);
  assert.equal(maildirMessages(md5path(root, "nora")).length, 6, "the INBOX is untouched");
  assert.equal(mailstore(["verify", "--root", root, "--folder", "Old-mail", src]).status, 0);
});

test("verify after new mail reached the source says the missing messages are past what was migrated; the next migrate adds just those", () => {
  const dir = tempDir();
  const src = path.join(dir, "olga");
  const msgs = realMessages("lf", 5).map((m) => m.bytes);
  fs.writeFileSync(src, buildMbox(msgs.slice(0, 3), "mboxrd").mbox);
  const root = path.join(dir, "root");
  assert.equal(mailstore(["migrate", "--root", root, "--no-progress", src]).status, 0);
  fs.writeFileSync(src, buildMbox(msgs, "mboxrd").mbox);
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 1);
  assert.match(v.stdout, /2 missing, 0 extra, 0 different/);
  assert.match(v.stdout, /2 of the missing are past what was migrated .*: mailstore migrate adds them/);
  assert.doesNotMatch(v.stdout, /source changed/);
  const again = mailstore(["migrate", "--root", root, "--no-progress", "--json", src]);
  assert.equal(JSON.parse(again.stdout).totals.messages, 2);
  assert.equal(mailstore(["verify", "--root", root, src]).status, 0);
});

/**
 * Migrates the messages, each with its extra header lines, as one user's mbox with the built
 * CLI; returns where each message landed, as "<subdir>:<flags after :2,>", and the paths.
 */
function migrateWithHeaders(user: string, extraHeaders: string[]): { landed: string[]; maildir: string; root: string; src: string } {
  const dir = tempDir();
  const src = path.join(dir, `${user}.mbox`);
  const built = writeRealMbox(src, extraHeaders.length, { extraHeaders });
  const root = path.join(dir, "root");
  const r = mailstore(["migrate", "--root", root, "--user", user, "--no-progress", src]);
  assert.equal(r.status, 0, r.stderr);
  const maildir = md5path(root, user);
  const got = maildirMessages(maildir);
  assert.equal(got.length, extraHeaders.length);
  const landed = built.expected.map((bytes) => {
    const m = got.find((f) => f.bytes.equals(bytes));
    return m ? `${m.sub}:${m.name.split(":2,")[1] ?? ""}` : "none";
  });
  return { landed, maildir, root, src };
}

test("a Thunderbird mbox keeps its flags: read, replied, starred, deleted-not-compacted (as trashed), forwarded ($Forwarded) and tags", () => {
  const mozilla = ["0001", "0003", "0005", "0009", "1001", "0000"].map((hex, i) => `X-Mozilla-Status: ${hex}\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: ${i === 5 ? "$label1" : ""}${" ".repeat(40)}\n`);
  const { landed, maildir, root, src } = migrateWithHeaders("tina", mozilla);
  const keywords = fs.readFileSync(path.join(maildir, "dovecot-keywords"), "utf8");
  const letter = (name: string) => String.fromCharCode(97 + Number(new RegExp(`^(\\d+) \\${name}$`, "m").exec(keywords)?.[1]));
  assert.deepEqual(landed, ["cur:S", "cur:RS", "cur:FS", "cur:ST", `cur:S${letter("$Forwarded")}`, `cur:${letter("$label1")}`]);
  assert.equal(mailstore(["verify", "--root", root, "--user", "tina", src]).status, 0);
});

test("a Google Takeout mbox keeps read and starred state, and IMAP keywords kept as labels", () => {
  const labels = ["Inbox,Opened", "Inbox,Unread", "Archived,Starred,Opened", "Sent,Opened,IMAP_$Forwarded"].map((l) => `X-GM-THRID: 1590000000000000000\nX-Gmail-Labels: ${l}\n`);
  const { landed, maildir } = migrateWithHeaders("gina", labels);
  assert.match(fs.readFileSync(path.join(maildir, "dovecot-keywords"), "utf8"), /^0 \$Forwarded$/m);
  assert.deepEqual(landed, ["cur:S", "cur:", "cur:FS", "cur:Sa"]);
});

test("a UW-IMAP mbox: migrate keeps its UIDs in dovecot-uidlist and says so; verify checks the list and names what it no longer holds", () => {
  const dir = tempDir();
  const src = path.join(dir, "ivy");
  fs.copyFileSync(path.join(FIXTURES, "mbox", "uw-imap-uids"), src);
  const root = path.join(dir, "root");
  const plan = mailstore(["migrate", "--root", root, "--dry-run", src]);
  assert.match(plan.stdout, /^plan +ivy: .*28 messages, .*1 folder-data message skipped; dovecot-uidlist: 28 UIDs kept, 0 new$/m);
  const r = mailstore(["migrate", "--root", root, "--json", src]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).mailboxes[0].uids, { validity: 1796649673, carried: 28, renumbered: 0 });
  const verified = mailstore(["verify", "--root", root, "--json", src]);
  assert.equal(verified.status, 0, verified.stdout);
  assert.deepEqual(JSON.parse(verified.stdout).mailboxes[0].uids, { validity: 1796649673, listValidity: 1796649673, wrong: [] });

  // The list no longer gives message 3 (X-UID 5) its UID: verify names it and exits 1.
  const list = path.join(md5path(root, "ivy"), "dovecot-uidlist");
  const text = fs.readFileSync(list, "utf8");
  fs.writeFileSync(list, text.replace(/^5 :/m, "40 :"));
  const v = mailstore(["verify", "--root", root, src]);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /DIFFERS +ivy: .*0 missing, 0 extra, 0 different, 1 under other UIDs/);
  assert.match(v.stdout, /uid +message 3 -> \S+,S=\d+: listed as UID 40, not 5/);
  // Without the list, every client would fetch the folder again.
  fs.rmSync(list);
  const gone = mailstore(["verify", "--root", root, src]);
  assert.equal(gone.status, 1);
  assert.match(gone.stdout, /dovecot-uidlist is missing, not the source's 1796649673: IMAP clients will fetch the folder again/);
});

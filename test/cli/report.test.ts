import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { CLI, mailstore } from "../helpers/cli.js";
import { FIXTURES, realMessages, tempDir } from "../helpers/mbox.js";
import { census, DAY, deliver, plantTree, userHome, withTmpfs } from "../helpers/tree.js";

const PLANTED = ["--large-dir", "40,400", "--new-backlog", "5,20"];

interface Json {
  totals: { users: number; messages: number; bytes: number; inodes: number; hardLinkedBytes: number; directoriesRescanned: number };
  users: { user: string; path: string; hashed: boolean; messages: number; bytes: number; inodes: number; quotaPct: number | null; quotaSource: string | null; newMessages: number; newOldestDays: number | null; staleTmpFiles: number; expectedPath?: string }[];
  hotspots: { kind: string; severity: string; path: string; user?: string; value: number; threshold: number; message: string }[];
  symlinks: { path: string; target: string }[];
  mboxes: { path: string; bytes: number; scanSeconds: number }[];
  growth?: { windows: { days: number; topGrowers: { user: string; bytesDelta: number }[] }[]; quotaProjections: { user: string; days: number }[] };
}

/** Every directory's mtime and every file's size and mtime under a tree: what "read-only" must keep. */
function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs} ${st.nlink}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join("\n");
}

test("report finds every planted hot spot, counts hard links once and touches no mail home", () => {
  const dir = tempDir();
  const t = plantTree(dir);
  const homesBefore = fingerprint(path.join(t.root, "00")) + fingerprint(userHome(t.root, "heidi"));
  const r = mailstore(["report", "--root", t.root, "--json", ...PLANTED, "--mbox", path.join(FIXTURES, "mbox"), "--large-mbox", "10k,1G"]);
  assert.equal(r.status, 3, r.stderr); // over-quota is critical
  const rep = JSON.parse(r.stdout) as Json;

  // Users: 8 hashed + the flat and the misplaced home.
  assert.deepEqual(rep.users.map((u) => u.user).sort(), [...t.users, "mallory", "olduser"].sort());
  for (const u of rep.users) {
    const c = census(u.path);
    assert.equal(u.messages, c.messages, u.user);
    assert.equal(u.bytes, c.messageBytes, `${u.user}: each user counts its own links`);
    assert.equal(u.inodes, c.inodes, `${u.user} inodes`);
  }
  // Totals: grace's file has three links (two in grace, one in heidi): its bytes count once.
  const all = rep.users.map((u) => census(u.path));
  const distinct = new Map<number, number>();
  for (const c of all) for (const [ino, size] of c.inos) distinct.set(ino, size);
  assert.equal(rep.totals.messages, all.reduce((a, c) => a + c.messages, 0));
  assert.equal(rep.totals.bytes, [...distinct.values()].reduce((a, b) => a + b, 0));
  assert.ok(rep.totals.hardLinkedBytes > 0);
  assert.equal(rep.totals.bytes + rep.totals.hardLinkedBytes, all.reduce((a, c) => a + c.messageBytes, 0));

  const kinds = (kind: string) => rep.hotspots.filter((h) => h.kind === kind);
  assert.deepEqual(kinds("near-quota").map((h) => [h.user, h.severity]), [["alice", "warning"]]);
  assert.deepEqual(kinds("over-quota").map((h) => [h.user, h.severity, h.value]), [["bob", "critical", 140]]); // 7 of 5 messages
  assert.deepEqual(kinds("quota-drift").map((h) => h.user), ["carol"]);
  assert.equal(rep.users.find((u) => u.user === "bob")?.quotaSource, "maildirsize");
  assert.deepEqual(kinds("large-directory").map((h) => [h.path, h.value, h.severity]), [[path.join(userHome(t.root, "dave"), "cur"), 45, "warning"]]);
  assert.deepEqual(kinds("stale-tmp").map((h) => [h.user, h.value]), [["erin", 2]]);
  // frank's new/ holds 5 messages dated 40 days back: counted, but their age is the time they
  // arrived in new/ (ctime), not the message date (mtime), so a fresh migration is not "old".
  assert.deepEqual(kinds("new-backlog").map((h) => [h.user, h.value, h.threshold]), [["frank", 5, 5]]);
  assert.equal(rep.users.find((u) => u.user === "frank")?.newOldestDays, 0);
  assert.deepEqual(kinds("unhashed-user").map((h) => h.path).sort(), [t.misplacedHome, t.flatHome].sort());
  assert.equal(rep.users.find((u) => u.user === "mallory")?.expectedPath, userHome(t.root, "mallory"));
  // Symlinks are listed, never followed: the loop ends nothing and the outside file is not counted.
  const links = kinds("symlink").map((h) => h.path).sort();
  assert.deepEqual(links, ["loop-a", "loop-b", ".Outside", "cur/up"].map((n) => path.join(userHome(t.root, "heidi"), n)).sort());
  assert.ok(!rep.users.some((u) => u.bytes >= 9000 && u.user === "heidi" && u.messages > 10));
  // large-mbox: the fixture mboxes over 10k, largest first, with the linear scan cost.
  assert.ok(rep.mboxes.length >= 3);
  assert.deepEqual(rep.mboxes.map((m) => m.bytes), [...rep.mboxes.map((m) => m.bytes)].sort((a, b) => b - a));
  assert.equal(kinds("large-mbox").length, rep.mboxes.filter((m) => m.bytes >= 10 * 1024).length);
  // Worst first.
  assert.equal(rep.hotspots[0].severity, "critical");
  const severities = rep.hotspots.map((h) => h.severity);
  assert.ok(severities.indexOf("warning") > severities.lastIndexOf("critical"));

  assert.equal(fingerprint(path.join(t.root, "00")) + fingerprint(userHome(t.root, "heidi")), homesBefore, "the report wrote in a mail home");
  // Forty days on, nobody has picked them up.
  const later = JSON.parse(mailstore(["report", "--root", t.root, "--json", "--now", new Date(Date.now() + 40 * DAY).toISOString(), "--new-backlog", "1000,20"]).stdout) as Json;
  assert.deepEqual(later.hotspots.filter((h) => h.kind === "new-backlog").map((h) => [h.user, h.value, h.threshold]), [["frank", 40, 20]]);
  // Without a critical hot spot the exit status is 0. How full the filesystem the test runs
  // on is (disk-pressure, inode-pressure) is no hot spot planted here: those levels are set out of reach.
  assert.equal(mailstore(["report", "--root", t.root, "--json", "--quota-pct", "90,200", "--disk-pct", "100,100", "--inode-pct", "100,100"]).status, 0);
});

test("the native scanner and the portable lstat fallback report the same tree identically", () => {
  const t = plantTree(tempDir());
  const run = (env: Record<string, string>) => {
    const r = mailstore(["report", "--root", t.root, "--json", "--no-cache", ...PLANTED], { env });
    assert.equal(r.status, 3, r.stderr);
    const j = JSON.parse(r.stdout);
    return { ...j, generatedAt: 0, scanSeconds: 0, filesystem: 0 };
  };
  assert.deepEqual(run({ MAILSTORE_NO_NATIVE: "1" }), run({}));
});

test("report usage errors exit 2 and name the option", () => {
  const t = plantTree(tempDir());
  for (const [args, pattern] of [
    [["--quota-pct", "95,90"], /--quota-pct takes a warning and a critical level/],
    [["--quota", "lots"], /--quota takes bytes/],
    [["--format", "xml"], /argument 'xml' is invalid/],
    [["--large-mbox", "1G,2Q"], /--large-mbox/],
    [["--mbox", path.join(t.root, "no-such-*")], /no file matches/],
  ] as const) {
    const r = mailstore(["report", "--root", t.root, ...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const quotas = path.join(t.root, "..", "quotas");
  fs.writeFileSync(quotas, "alice 1G\nbob\n");
  const bad = mailstore(["report", "--root", t.root, "--quota-file", quotas]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /quotas:2: expected "user limit"/);
  assert.equal(mailstore(["report", "--root", path.join(t.root, "missing")]).status, 2);
});

test("report reruns from its cache, rescanning only what changed", () => {
  const dir = tempDir();
  const t = plantTree(dir);
  // Directory mtimes within a second of a run are not trusted by the cache.
  const old = (Date.now() - 60_000) / 1000;
  const age = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) age(path.join(d, e.name));
    fs.utimesSync(d, old, old);
  };
  age(t.root);
  const run = () => {
    const r = mailstore(["report", "--root", t.root, "--json", ...PLANTED]);
    assert.ok(r.status === 3, r.stderr);
    return JSON.parse(r.stdout) as Json & { generatedAt?: string; scanSeconds?: number; filesystem?: unknown };
  };
  const first = run();
  assert.ok(first.totals.directoriesRescanned > 30);
  const second = run();
  assert.equal(second.totals.directoriesRescanned, 0);
  const strip = (j: Json & { generatedAt?: string; scanSeconds?: number; filesystem?: unknown }) => ({ ...j, generatedAt: 0, scanSeconds: 0, filesystem: 0, totals: { ...j.totals, directoriesRescanned: 0 } });
  assert.deepEqual(strip(second), strip(first));

  // A delivery to one user: that folder's new/ is read again, nothing else.
  const msg = realMessages("lf", 1)[0].bytes;
  deliver(userHome(t.root, "alice"), msg, { sub: "new" });
  const third = run();
  assert.equal(third.totals.directoriesRescanned, 1);
  const alice = (j: Json) => j.users.find((u) => u.user === "alice");
  assert.equal(alice(third)?.messages, (alice(first)?.messages ?? 0) + 1);
  assert.equal(third.totals.bytes, first.totals.bytes + msg.length);
  // A same-second change is read again next time, not trusted: the new/ just read was written moments ago.
  assert.equal(run().totals.directoriesRescanned, 1);
});

test("report formats: CSV, Prometheus and JSON agree; --output replaces the file whole", () => {
  const dir = tempDir();
  const t = plantTree(dir);
  const json = JSON.parse(mailstore(["report", "--root", t.root, "--json", "--no-cache"]).stdout) as Json;

  const csv = mailstore(["report", "--root", t.root, "--format", "csv", "--no-cache"]);
  const lines = csv.stdout.trimEnd().split("\r\n");
  const header = lines[0].split(",");
  assert.equal(lines.length, json.users.length + 1);
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((c, i) => [header[i], c])));
  for (const u of json.users) {
    const row = rows.find((r) => r.user === u.user);
    assert.equal(Number(row?.bytes), u.bytes);
    assert.equal(Number(row?.messages), u.messages);
    assert.equal(Number(row?.inodes), u.inodes);
  }

  const out = path.join(dir, "mailstore.prom");
  fs.writeFileSync(out, "stale\n");
  const prom = mailstore(["report", "--root", t.root, "--format", "prometheus", "--output", out, "--no-cache"]);
  assert.equal(prom.stdout, "");
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes("mailstore.prom")), ["mailstore.prom"]);
  const text = fs.readFileSync(out, "utf8");
  const samples = new Map<string, number>();
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    assert.ok(m, `not exposition format: ${line}`);
    samples.set(`${m[1]}{${m[2]}}`, Number(m[3]));
  }
  const root = `root="${t.root}"`;
  assert.equal(samples.get(`mailstore_users{${root}}`), json.totals.users);
  assert.equal(samples.get(`mailstore_mail_bytes{${root}}`), json.totals.bytes);
  assert.equal(samples.get(`mailstore_user_messages{${root},user="alice"}`), json.users.find((u) => u.user === "alice")?.messages);
  assert.equal(samples.get(`mailstore_hotspots{${root},kind="over-quota",severity="critical"}`), 1);
  // An output that cannot be written is a failure (1), named.
  const fail = mailstore(["report", "--root", t.root, "--output", path.join(dir, "no-such-dir", "r.txt"), "--no-cache"]);
  assert.equal(fail.status, 1);
  assert.match(fail.stderr, /--output .*no-such-dir.*ENOENT/);
});

test("report --history shows top growers and projects quota", () => {
  const dir = tempDir();
  const t = plantTree(dir);
  const history = path.join(dir, "history.sqlite");
  const msgs = realMessages("lf");
  const day = (n: number) => new Date(t.now - (30 - n) * DAY).toISOString();
  const run = (n: number) => {
    const r = mailstore(["report", "--root", t.root, "--json", "--history", history, "--now", day(n), "--no-cache", "--quota", "50M"]);
    return JSON.parse(r.stdout) as Json;
  };
  const first = run(0);
  assert.deepEqual(first.growth?.windows, []);
  // Over a week, grace receives 3 messages a day; nobody else changes.
  for (let d = 1; d <= 7; d++) {
    for (let i = 0; i < 3; i++) deliver(userHome(t.root, "grace"), msgs[(d * 3 + i) % msgs.length].bytes);
    const rep = run(d);
    assert.equal(rep.growth?.windows[0].days, 1);
    assert.deepEqual(rep.growth?.windows[0].topGrowers.map((g) => g.user), ["grace"]);
  }
  const last = run(8);
  assert.deepEqual(last.growth?.windows.map((w) => w.days), [1, 7]);
  const week = last.growth?.windows[1].topGrowers[0];
  assert.equal(week?.user, "grace");
  const grace = last.users.find((u) => u.user === "grace");
  assert.ok(week && grace && week.bytesDelta > 0 && week.bytesDelta < grace.bytes);
  // grace's trend reaches 50M; nobody else grows.
  assert.deepEqual(last.growth?.quotaProjections.map((p) => p.user), ["grace"]);
  assert.ok((last.growth?.quotaProjections[0].days ?? 0) > 100);
});

test("report: inode pressure on a small filesystem is critical (exit 3)", (t) => {
  const dir = tempDir();
  const mnt = path.join(dir, "small");
  withTmpfs(t, mnt, "size=2m,nr_inodes=64", () => {
    const root = path.join(mnt, "root");
    // Root, 2 buckets and 5 inodes (home, cur, new, tmp, a message) per user: 43 of 64 inodes.
    for (const user of ["ann", "ben", "cid", "dan", "eve", "fay"]) deliver(userHome(root, user), Buffer.from("From: a@b\nSubject: x\n\nhi\n"));
    const r = mailstore(["report", "--root", root, "--json", "--no-cache"]);
    assert.equal(r.status, 3, r.stderr);
    const h = (JSON.parse(r.stdout) as Json).hotspots.find((x) => x.kind === "inode-pressure");
    assert.equal(h?.severity, "critical");
    const df = spawnSync("df", ["--output=iused,itotal", mnt], { encoding: "utf8" }).stdout.trim().split("\n")[1].trim().split(/\s+/).map(Number);
    assert.equal(h?.value, Math.round((df[0] / df[1]) * 1000) / 10);
    assert.ok(h && h.value >= 50);
  });
});

test("report does not enter another filesystem unless asked, and reports what it cannot read", (t) => {
  const dir = tempDir();
  const tree = plantTree(dir);
  const mnt = path.join(userHome(tree.root, "carol"), ".Mounted");
  withTmpfs(t, mnt, "size=1m", () => {
    deliver(mnt, realMessages("lf", 1)[0].bytes);
    const carol = (args: string[]) => (JSON.parse(mailstore(["report", "--root", tree.root, "--json", "--no-cache", ...args]).stdout) as Json).users.find((u) => u.user === "carol");
    const stay = JSON.parse(mailstore(["report", "--root", tree.root, "--json", "--no-cache"]).stdout) as Json;
    assert.ok(stay.hotspots.some((h) => h.kind === "unreadable" && h.path === mnt && /another filesystem/.test(h.message)));
    const inside = census(mnt);
    assert.equal((carol(["--cross-filesystems"])?.messages ?? 0) - (carol([])?.messages ?? 0), inside.messages);
  });

  // As an unprivileged user, a directory it may not read is reported and the rest is scanned.
  if (process.getuid?.() !== 0 || !fs.existsSync("/usr/bin/setpriv")) return;
  fs.chmodSync(dir, 0o755);
  const locked = path.join(userHome(tree.root, "dave"), "cur");
  fs.chmodSync(locked, 0o700);
  const r = spawnSync("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "report", "--root", tree.root, "--json", "--no-cache"], { encoding: "utf8" });
  assert.equal(r.status, 3, r.stderr);
  const rep = JSON.parse(r.stdout) as Json;
  assert.ok(rep.hotspots.some((h) => h.kind === "unreadable" && h.user === "dave" && /EACCES/.test(h.message)), JSON.stringify(rep.hotspots.filter((h) => h.kind === "unreadable")));
  assert.equal(rep.users.length, 10);
  assert.equal(rep.users.find((u) => u.user === "alice")?.messages, census(userHome(tree.root, "alice")).messages);
});

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));

test("report --format html renders in a real browser", { skip: chromium ? false : "chromium not installed (apt install chromium)" }, () => {
  const dir = tempDir();
  const t = plantTree(dir);
  const html = path.join(dir, "report.html");
  assert.equal(mailstore(["report", "--root", t.root, "--format", "html", "--output", html, ...PLANTED]).status, 3);
  const page = fs.readFileSync(html, "utf8");
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(page), "the page must be self-contained");
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${path.join(dir, "chrome")}`];
  const dom = spawnSync(chromium as string, [...flags, "--dump-dom", `file://${html}`], { encoding: "utf8", timeout: 60_000 });
  assert.equal(dom.status, 0, dom.stderr);
  // The browser parsed it: tables and charts are in the live DOM, with the users and hot spots.
  assert.match(dom.stdout, /<svg[^>]*aria-label="Largest users by mail bytes/);
  assert.match(dom.stdout, /<svg[^>]*aria-label="Level 1 \(2 hex characters\)/);
  assert.ok((dom.stdout.match(/<rect /g) ?? []).length >= 8);
  for (const user of t.users) assert.ok(dom.stdout.includes(`>${user}<`), user);
  assert.match(dom.stdout, /over-quota/);
  const png = path.join(dir, "report.png");
  const shot = spawnSync(chromium as string, [...flags, `--screenshot=${png}`, "--window-size=1200,2000", `file://${html}`], { encoding: "utf8", timeout: 60_000 });
  assert.equal(shot.status, 0, shot.stderr);
  assert.ok(fs.statSync(png).size > 20_000, "a blank page would be a small PNG");
  if (process.env.KEEP_REPORT_PNG) fs.copyFileSync(png, process.env.KEEP_REPORT_PNG);
});

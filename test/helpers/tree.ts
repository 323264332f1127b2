import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { realMessages } from "./mbox.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const userHome = (root: string, user: string) => {
  const h = crypto.createHash("md5").update(user).digest("hex");
  return path.join(root, h.slice(0, 2), h.slice(2, 4), user);
};

let seq = 0;
/** Delivers real message bytes into a folder's cur/ or new/ under a Dovecot-style name with ,S=. */
export function deliver(folderDir: string, bytes: Buffer, opts: { sub?: "cur" | "new" | "tmp"; mtime?: number; withSize?: boolean } = {}): string {
  const sub = opts.sub ?? "cur";
  for (const s of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(folderDir, s), { recursive: true });
  const base = `${1700000000 + seq}.M${seq}P${process.pid}.test${opts.withSize === false ? "" : `,S=${bytes.length}`}`;
  seq++;
  const file = path.join(folderDir, sub, sub === "cur" ? `${base}:2,S` : base);
  fs.writeFileSync(file, bytes);
  if (opts.mtime !== undefined) fs.utimesSync(file, opts.mtime / 1000, opts.mtime / 1000);
  return file;
}

export interface PlantedTree {
  root: string;
  outside: string;
  users: string[];
  /** Users by what was planted in them. */
  nearQuota: string;
  overQuota: string;
  drift: string;
  bigDir: string;
  staleTmp: string;
  backlog: string;
  linked: [string, string];
  flatHome: string;
  misplacedHome: string;
  now: number;
}

/**
 * A small hashed tree (fanout 2,2) of real messages with one of every hot spot planted, for
 * thresholds --large-dir 40,400 and --new-backlog 5,20: quotas from maildirsize, hard links
 * within and across users, a symlink out of the tree and a symlink loop, stale tmp/ files,
 * an old new/ backlog, a flat home and a misplaced one.
 */
export function plantTree(dir: string): PlantedTree {
  const root = path.join(dir, "root");
  const outside = path.join(dir, "outside");
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, "secret"), "not mail\n".repeat(1000));
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, ".mailstore.json"), JSON.stringify({ version: 1, hash: "md5", fanout: [2, 2] }));
  const msgs = realMessages("lf");
  const now = Date.now();
  const users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
  users.forEach((user, u) => {
    const home = userHome(root, user);
    for (let i = 0; i < 6; i++) deliver(home, msgs[(u * 6 + i) % msgs.length].bytes);
    deliver(path.join(home, ".Sent"), msgs[(u + 50) % msgs.length].bytes);
    fs.writeFileSync(path.join(home, ".Sent", "maildirfolder"), "");
    fs.writeFileSync(path.join(home, "dovecot-uidlist"), "3 V1 N8\n");
  });
  const sizeOf = (user: string) => {
    let total = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.isFile() && /\/(cur|new)$/.test(d)) total += fs.statSync(path.join(d, e.name)).size;
      }
    };
    walk(userHome(root, user));
    return total;
  };
  // Quotas: alice at ~95 % of her byte limit, bob over his message limit, carol's maildirsize wrong by 5 MB.
  fs.writeFileSync(path.join(userHome(root, "alice"), "maildirsize"), `${Math.round(sizeOf("alice") / 0.95)}S,1000C\n${sizeOf("alice")} 7\n`);
  fs.writeFileSync(path.join(userHome(root, "bob"), "maildirsize"), `0S,5C\n${sizeOf("bob")} 7\n`);
  fs.writeFileSync(path.join(userHome(root, "carol"), "maildirsize"), `100000000S\n${sizeOf("carol") + 5 * 1024 * 1024} 7\n-0 0\n`);
  // dave: a cur/ of 45 entries.
  for (let i = 0; i < 39; i++) deliver(userHome(root, "dave"), msgs[i % msgs.length].bytes);
  // erin: two tmp/ files two days old, one fresh.
  deliver(userHome(root, "erin"), msgs[1].bytes, { sub: "tmp", mtime: now - 2 * DAY });
  deliver(userHome(root, "erin"), msgs[2].bytes, { sub: "tmp", mtime: now - 2 * DAY });
  deliver(userHome(root, "erin"), msgs[3].bytes, { sub: "tmp" });
  // frank: new/ mail never picked up, messages dated up to 40 days back.
  for (let i = 0; i < 5; i++) deliver(userHome(root, "frank"), msgs[i].bytes, { sub: "new", mtime: now - (40 - i) * DAY });
  // grace's message hard-linked into heidi's Sent and into grace's own Sent (Dovecot's hard-link copy).
  const shared = deliver(userHome(root, "grace"), msgs[7].bytes);
  fs.linkSync(shared, path.join(userHome(root, "heidi"), ".Sent", "cur", "1700009999.linked,S=" + msgs[7].bytes.length + ":2,S"));
  fs.linkSync(shared, path.join(userHome(root, "grace"), ".Sent", "cur", "1700009998.linked,S=" + msgs[7].bytes.length + ":2,S"));
  // heidi: a symlink pointing out of the tree, and a loop.
  fs.symlinkSync(outside, path.join(userHome(root, "heidi"), ".Outside"));
  fs.symlinkSync("loop-b", path.join(userHome(root, "heidi"), "loop-a"));
  fs.symlinkSync("loop-a", path.join(userHome(root, "heidi"), "loop-b"));
  fs.symlinkSync("..", path.join(userHome(root, "heidi"), "cur", "up"));
  // A flat home left from the old layout, and a home in the wrong bucket.
  const flatHome = path.join(root, "olduser");
  deliver(flatHome, msgs[9].bytes);
  const misplacedHome = path.join(root, "00", "00", "mallory");
  deliver(misplacedHome, msgs[10].bytes);
  return { root, outside, users, nearQuota: "alice", overQuota: "bob", drift: "carol", bigDir: "dave", staleTmp: "erin", backlog: "frank", linked: ["grace", "heidi"], flatHome, misplacedHome, now };
}

/** Every entry under a directory by lstat, counted independently of the code under test. */
export function census(dir: string): { inodes: number; messages: number; messageBytes: number; inos: Map<number, number> } {
  const out = { inodes: 0, messages: 0, messageBytes: 0, inos: new Map<number, number>() };
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d)) {
      const p = path.join(d, e);
      const st = fs.lstatSync(p);
      out.inodes++;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && /\/(cur|new)$/.test(d)) {
        out.messages++;
        out.messageBytes += st.size;
        out.inos.set(st.ino, st.size);
      }
    }
  };
  out.inodes = 1;
  walk(dir);
  return out;
}

export { DAY, HOUR };

/**
 * Runs `body` with a fresh tmpfs mounted at `dir` (options as for mount -o), unmounting after;
 * skips the test where mounting is not allowed (not root).
 */
export function withTmpfs(t: { skip: (why: string) => void }, dir: string, options: string, body: () => void): void {
  fs.mkdirSync(dir, { recursive: true });
  if (spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]).status !== 0) {
    t.skip("cannot mount a tmpfs here (needs root)");
    return;
  }
  try {
    body();
  } finally {
    spawnSync("umount", [dir]);
  }
}

/** Every entry under a directory: relative path → "d", "l <target>" or "f <size>", in name order. */
export function listTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string, rel: string) => {
    for (const name of fs.readdirSync(at).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(at, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        out.set(r, "d");
        walk(p, r);
      } else if (st.isSymbolicLink()) out.set(r, `l ${fs.readlinkSync(p)}`);
      else out.set(r, `f ${st.size}`);
    }
  };
  walk(dir, "");
  return out;
}

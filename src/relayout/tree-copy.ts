import fs from "node:fs";
import path from "node:path";
import { sha256OfFile } from "../util/read-file.js";

/**
 * Copies a Maildir to another filesystem as it is: modes, owners and mtimes kept, symlinks
 * copied as symlinks (never followed), hard links inside it kept as links. Sockets, FIFOs
 * and devices have no place in a Maildir: the copy refuses them.
 */
export function copyTree(src: string, dst: string): void {
  const links = new Map<number, string>();
  const asRoot = process.getuid?.() === 0;
  const keep = (st: fs.Stats, at: string, isLink = false) => {
    if (asRoot) fs.lchownSync(at, st.uid, st.gid);
    if (!isLink) {
      fs.chmodSync(at, st.mode & 0o7777);
      fs.utimesSync(at, st.atime, st.mtime);
    }
  };
  const copyDir = (from: string, to: string) => {
    const st = fs.lstatSync(from);
    fs.mkdirSync(to, { mode: 0o700 });
    for (const name of fs.readdirSync(from)) {
      const a = path.join(from, name);
      const b = path.join(to, name);
      const est = fs.lstatSync(a);
      if (est.isDirectory()) copyDir(a, b);
      else if (est.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(a), b);
        keep(est, b, true);
      } else if (est.isFile()) {
        const first = est.nlink > 1 ? links.get(est.ino) : undefined;
        if (first) {
          fs.linkSync(first, b);
          continue;
        }
        fs.copyFileSync(a, b, fs.constants.COPYFILE_EXCL);
        keep(est, b);
        if (est.nlink > 1) links.set(est.ino, b);
      } else {
        throw new Error(`${a} is neither a file, a directory nor a symlink: a Maildir holds none of those`);
      }
    }
    keep(st, to);
  };
  copyDir(src, dst);
}

/** Every entry under a directory: relative path → "d", "l <target>" or "f <size>". */
export function listTree(dir: string, ignore: Set<string> = new Set()): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string, rel: string) => {
    for (const name of fs.readdirSync(at).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (ignore.has(r)) continue;
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

/**
 * Differences between two trees, by name, kind, size and SHA-256 of every file; at most
 * `limit` of them. Empty when the copy is exact.
 */
export function compareTrees(a: string, b: string, opts: { ignoreInB?: Set<string>; limit?: number } = {}): string[] {
  const limit = opts.limit ?? 10;
  const left = listTree(a);
  const right = listTree(b, opts.ignoreInB);
  const diffs: string[] = [];
  for (const [rel, what] of left) {
    if (diffs.length >= limit) return diffs;
    const other = right.get(rel);
    if (other === undefined) diffs.push(`${rel}: missing from the copy`);
    else if (other !== what) diffs.push(`${rel}: ${what} in the source, ${other} in the copy`);
    else if (what.startsWith("f ") && sha256OfFile(path.join(a, rel)) !== sha256OfFile(path.join(b, rel))) diffs.push(`${rel}: content differs`);
  }
  for (const rel of right.keys()) {
    if (diffs.length >= limit) break;
    if (!left.has(rel)) diffs.push(`${rel}: only in the copy`);
  }
  return diffs;
}

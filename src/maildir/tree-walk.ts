import fs from "node:fs";
import path from "node:path";
import { bucketOf, type Fanout } from "./layout.js";
import { bucketInShard, inShard, type Shard } from "./shard.js";

/** A user's home found in the tree: where it is, and whether the layout hash puts it there. */
export interface UserLocation {
  user: string;
  /** Relative to the root. */
  rel: string;
  hashed: boolean;
  /** Where the hash of the name puts it, relative to the root. */
  expected: string;
}

export interface BucketDir {
  rel: string;
  level: number;
  entries: number;
}

/** What lies above the users: buckets, homes, and everything that should not be there. */
export interface TreeWalk {
  users: UserLocation[];
  buckets: BucketDir[];
  symlinks: { path: string; target: string }[];
  /** Files, and directories that are neither buckets nor Maildirs, at the bucket levels. */
  strays: string[];
  /** Directories on another filesystem, not entered. */
  mounts: string[];
  errors: string[];
  rootDev: number;
}

export interface WalkOptions {
  crossFilesystems: boolean;
  /** How deep to look under a directory that is not a bucket for Maildirs left in a flat layout. */
  flatDepth?: number;
  /** Only this shard's users, and only the buckets that can hold them. */
  shard?: Shard;
}

const isMaildir = (dir: string) => fs.lstatSync(path.join(dir, "cur"), { throwIfNoEntry: false })?.isDirectory() === true;

/** A home at ".../alice/Maildir" belongs to alice. */
const userOfFlat = (dir: string) => (path.basename(dir) === "Maildir" ? path.basename(path.dirname(dir)) : path.basename(dir));

/**
 * Walks the bucket levels of a hashed tree (never following a symlink) and finds every
 * user home: those where the hash of their name puts them, and Maildirs anywhere else
 * above that depth (flat homes left over, misplaced ones).
 */
export function walkTree(root: string, fanout: Fanout, opts: WalkOptions): TreeWalk {
  const rootDev = fs.statSync(root).dev;
  const walk: TreeWalk = { users: [], buckets: [], symlinks: [], strays: [], mounts: [], errors: [], rootDev };
  const bucketNames = fanout.map((width) => new RegExp(`^[0-9a-f]{${width}}$`));
  const flatDepth = opts.flatDepth ?? 3;
  const rel = (abs: string) => path.relative(root, abs);

  const list = (dir: string): fs.Dirent[] | undefined => {
    try {
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      walk.errors.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  };
  /** False for a directory on another filesystem (listed instead). */
  const sameFs = (dir: string) => {
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st || st.dev === rootDev || opts.crossFilesystems) return true;
    walk.mounts.push(dir);
    return false;
  };
  const addUser = (dir: string, user: string, hashed: boolean) => {
    if (!inShard(user, opts.shard)) return;
    walk.users.push({ user, rel: rel(dir), hashed, expected: path.join(...bucketOf(user, fanout), user) });
  };
  const symlink = (at: string) => {
    let target = "?";
    try {
      target = fs.readlinkSync(at);
    } catch {}
    walk.symlinks.push({ path: at, target });
  };
  /** Outside the buckets: Maildirs are users in the wrong place. True when one was found. */
  const searchFlat = (dir: string, depth: number): boolean => {
    if (!sameFs(dir)) return true;
    if (isMaildir(dir)) {
      addUser(dir, userOfFlat(dir), false);
      return true;
    }
    if (depth >= flatDepth) return false;
    let found = false;
    for (const e of list(dir) ?? []) {
      const at = path.join(dir, e.name);
      if (e.isSymbolicLink()) symlink(at);
      else if (e.isDirectory()) found = searchFlat(at, depth + 1) || found;
    }
    return found;
  };
  const bucketLevel = (dir: string, parts: string[]) => {
    const level = parts.length;
    const entries = list(dir);
    if (!entries) return;
    if (level > 0) walk.buckets.push({ rel: rel(dir), level, entries: entries.length });
    for (const e of entries) {
      const at = path.join(dir, e.name);
      if (e.isSymbolicLink()) symlink(at);
      else if (!e.isDirectory()) {
        if (!(level === 0 && e.name.startsWith(".mailstore"))) walk.strays.push(at);
      } else if (level < fanout.length && bucketNames[level].test(e.name)) {
        if (bucketInShard([...parts, e.name].join(""), opts.shard) && sameFs(at)) bucketLevel(at, [...parts, e.name]);
      } else if (level === fanout.length && !e.name.startsWith(".")) {
        if (!sameFs(at)) continue;
        if (!isMaildir(at)) walk.strays.push(at);
        else addUser(at, e.name, bucketOf(e.name, fanout).join("/") === parts.join("/"));
      } else if (!searchFlat(at, level + 1)) {
        walk.strays.push(at);
      }
    }
  };
  bucketLevel(root, []);
  return walk;
}

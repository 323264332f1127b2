import fs from "node:fs";
import path from "node:path";
import { type Fanout, formatFanout } from "../maildir/layout.js";
import { ROOT_CONFIG, type Transition, TRANSITION_FILE } from "../maildir/root-config.js";
import { inShard, type Shard } from "../maildir/shard.js";
import { walkTree } from "../maildir/tree-walk.js";
import { replaceFile } from "../util/replace-file.js";
import type { MoveTask } from "./move.js";

export function startTransition(root: string, t: Transition): void {
  replaceFile(path.join(root, TRANSITION_FILE), `${JSON.stringify(t)}\n`, { mode: 0o644, flush: true });
}

/** The new layout becomes the root's; empty buckets of the old one are removed. */
export function finishTransition(root: string, t: Transition): void {
  replaceFile(path.join(root, ROOT_CONFIG), `${JSON.stringify({ version: 1, hash: "md5", fanout: t.to })}\n`, { mode: 0o644, flush: true });
  const names = t.from.map((w) => new RegExp(`^[0-9a-f]{${w}}$`));
  const prune = (dir: string, level: number) => {
    if (level >= t.from.length) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || !names[level].test(e.name)) continue;
      const at = path.join(dir, e.name);
      prune(at, level + 1);
      try {
        fs.rmdirSync(at);
      } catch {
        // Not empty: a bucket of the new layout too, or something that is not ours.
      }
    }
  };
  if (formatFanout(t.from) !== formatFanout(t.to)) prune(root, 0);
  fs.rmSync(path.join(root, TRANSITION_FILE), { force: true });
}

/** Every home in the tree, found as report finds them (buckets of `fanout`, and Maildirs elsewhere). */
export function treeTasks(root: string, fanout: Fanout, shard?: Shard): MoveTask[] {
  const walk = walkTree(root, fanout, { crossFilesystems: false, shard });
  return walk.users.map((u) => ({ source: path.join(root, u.rel), user: u.user }));
}

/**
 * The user a Maildir belongs to: from --user-from (named group `user`, with `domain` giving
 * user@domain, or the first group), else the directory's name, or its parent's when the
 * directory is called Maildir (/home/alice/Maildir is alice's).
 */
export function userOfPath(source: string, userFrom?: RegExp): string | undefined {
  const abs = path.resolve(source);
  if (userFrom) {
    const m = userFrom.exec(abs);
    if (!m) return undefined;
    const user = m.groups?.user ?? m[1];
    if (user === undefined) return undefined;
    return m.groups?.domain ? `${user}@${m.groups.domain}` : user;
  }
  return path.basename(abs) === "Maildir" ? path.basename(path.dirname(abs)) : path.basename(abs);
}

export function sourceTasks(sources: string[], userFrom: RegExp | undefined, shard: Shard | undefined): { tasks: MoveTask[]; unnamed: string[] } {
  const tasks: MoveTask[] = [];
  const unnamed: string[] = [];
  for (const source of sources) {
    const user = userOfPath(source, userFrom);
    if (user === undefined) unnamed.push(source);
    else if (inShard(user, shard)) tasks.push({ source: path.resolve(source), user });
  }
  return { tasks, unnamed };
}

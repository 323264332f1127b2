import fs from "node:fs";
import path from "node:path";
import type { Fanout } from "../maildir/layout.js";
import { bucketInShard, type Shard } from "../maildir/shard.js";

/**
 * The users of a hashed tree: directories at the fan-out's depth, below bucket directories
 * named by hex digits of the right width. Symlinks are never followed.
 */
export function listUsers(root: string, fanout: Fanout, shard?: Shard): string[] {
  const users: string[] = [];
  const buckets = fanout.map((width) => new RegExp(`^[0-9a-f]{${width}}$`));
  const walk = (dir: string, level: number, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (level < fanout.length) {
        // A shard lists only the buckets that can hold its users.
        if (buckets[level].test(entry.name) && bucketInShard(prefix + entry.name, shard)) walk(path.join(dir, entry.name), level + 1, prefix + entry.name);
      } else if (!entry.name.startsWith(".") && fs.existsSync(path.join(dir, entry.name, "cur"))) {
        users.push(entry.name);
      }
    }
  };
  walk(root, 0, "");
  return users.sort();
}

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Fanout, formatFanout, parseFanout } from "../maildir/layout.js";
import { readTransition, resolveFanout, TRANSITION_FILE } from "../maildir/root-config.js";
import { resolveShard, type Shard } from "../maildir/shard.js";
import { UsageError } from "./sources.js";

/** Exit statuses shared by every command (docs/migrate.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const SHARD_HELP = "only shard K of N (0 <= K < N) of the users, by layout hash; also from MAILSTORE_SHARD, JOB_COMPLETION_INDEX with MAILSTORE_SHARD_COUNT, or a Slurm array";

/** The shard asked for by --shard or the environment (usage error when malformed). */
export function selectShard(option: string | undefined): Shard | undefined {
  try {
    return resolveShard(option);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} takes a whole number of at least 1, not "${value}"`);
  return n;
}

/** The root and its layout (recorded in the root, or --fanout, or the default); usage errors otherwise. */
export function rootLayout(rootArg: string, fanoutArg: string | undefined, write = false): { root: string; fanout: Fanout } {
  const root = path.resolve(rootArg);
  if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) throw new UsageError(`--root ${rootArg} is not a directory`);
  const transition = fs.existsSync(path.join(root, TRANSITION_FILE)) ? readTransition(root) : undefined;
  if (transition) throw new UsageError(`${root} is being re-hashed from fanout ${formatFanout(transition.from)} to ${formatFanout(transition.to)}: users are in both layouts until "mailstore relayout --root ${rootArg}" finishes`);
  try {
    return { root, fanout: resolveFanout(root, fanoutArg === undefined ? undefined : parseFanout(fanoutArg), { write }) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** rootLayout for a command that reads the tree: a root that does not exist is a usage error. */
export function existingRootLayout(rootArg: string, fanoutArg: string | undefined): { root: string; fanout: Fanout } {
  const layout = rootLayout(rootArg, fanoutArg);
  if (!fs.existsSync(layout.root)) throw new UsageError(`--root ${rootArg} does not exist`);
  return layout;
}

export function defaultJobs(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}


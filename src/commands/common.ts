import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Command, Option } from "commander";
import type { Owner } from "../maildir/dirs.js";
import { type Fanout, formatFanout, parseFanout } from "../maildir/layout.js";
import { readTransition, TRANSITION_FILE } from "../relayout/plan.js";
import { resolveFanout } from "../maildir/root-config.js";
import { resolveShard, type Shard } from "../maildir/shard.js";
import { MBOX_FORMATS, type MboxFormat } from "../mbox/reader.js";
import type { MigrateOptions } from "../migrate/mailbox.js";
import { UsageError } from "./sources.js";

/** Exit statuses shared by every command (docs/migrate.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Options that name sources and the target tree, shared by migrate and verify. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .option("--user <name>", "user of the single mbox given (default: the file's base name)")
    .option("--folder <name>", 'Maildir++ folder to fill instead of INBOX, levels split by "/" (Archive/2019)')
    .option("--from-list <file>", 'read "path user [folder]" lines')
    .addOption(new Option("--format <format>", "mbox variant").choices(MBOX_FORMATS).default("auto"))
    .option("--fanout <widths>", 'hash characters per level, e.g. "2,2" (default: the root\'s, else 2,2)')
    .option("--jobs <n>", "mailboxes in parallel (default: cores)", (v) => positiveInt(v, "--jobs"))
    .option("--follow-symlinks", "accept a source that is a symlink")
    .option("--lock-timeout <seconds>", "how long to wait for a locked mbox", (v) => positiveInt(v, "--lock-timeout"), 30)
    .option("--json", "print one JSON summary on stdout")
    .option("--no-progress", "never show a progress bar")
    .option("--shard <K/N>", SHARD_HELP);
}

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

export function parseOwner(spec: string): Owner {
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) throw new UsageError(`--owner takes uid:gid in numbers, not "${spec}"`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

export interface SourceCliOptions {
  root: string;
  user?: string;
  folder?: string;
  fromList?: string;
  format: MboxFormat;
  fanout?: string;
  jobs?: number;
  followSymlinks?: boolean;
  lockTimeout: number;
  json?: boolean;
  progress: boolean;
  dryRun?: boolean;
  sync?: string;
  owner?: string;
  index?: boolean;
  shard?: string;
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

export function buildOptions(cli: SourceCliOptions, write: boolean): MigrateOptions {
  const { root, fanout } = rootLayout(cli.root, cli.fanout, write);
  const sync = cli.sync ?? "durable";
  if (sync !== "durable" && sync !== "none") throw new UsageError(`--sync takes durable or none, not "${sync}"`);
  return {
    root,
    fanout,
    format: cli.format,
    sync,
    dryRun: cli.dryRun ?? false,
    followSymlinks: cli.followSymlinks ?? false,
    owner: cli.owner ? parseOwner(cli.owner) : undefined,
    lockTimeoutMs: cli.lockTimeout * 1000,
    index: cli.index !== false,
  };
}

export function defaultJobs(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

export function sourceBytes(sources: string[]): number {
  let total = 0;
  for (const s of sources) total += fs.statSync(s, { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

import fs from "node:fs";
import type { Command } from "commander";
import { Option } from "../util/commander.js";
import type { Owner } from "../maildir/dirs.js";
import { MBOX_FORMATS, type MboxFormat } from "../mbox/formats.js";
import type { MigrateOptions } from "../migrate/task.js";
import { positiveInt, rootLayout, SHARD_HELP } from "./common.js";
import { UsageError } from "./sources.js";

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

export function sourceBytes(sources: string[]): number {
  let total = 0;
  for (const s of sources) total += fs.statSync(s, { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

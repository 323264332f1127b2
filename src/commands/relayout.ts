import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Command } from "commander";
import { type Fanout, formatFanout, parseFanout } from "../maildir/layout.js";
import { readTransition, resolveFanout } from "../maildir/root-config.js";
import { type MoveResult, moveMaildir, type MoveTask } from "../relayout/move.js";
import { finishTransition, sourceTasks, startTransition, treeTasks } from "../relayout/plan.js";
import { EXIT, SHARD_HELP, selectShard } from "./common.js";
import { makeProgress } from "./output.js";
import { UsageError } from "./sources.js";

const require = createRequire(import.meta.url);

interface RelayoutCli {
  root: string;
  from: string[];
  userFrom?: string;
  fanout?: string;
  link?: boolean;
  dryRun?: boolean;
  json?: boolean;
  progress: boolean;
  shard?: string;
}

function fanoutOption(spec: string | undefined): Fanout | undefined {
  if (spec === undefined) return undefined;
  try {
    return parseFanout(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Maildirs named on the command line and by --from patterns (directories only, symlinks not followed). */
function namedSources(args: string[], patterns: string[]): string[] {
  const glob = patterns.length ? (require("fast-glob") as typeof import("fast-glob")) : undefined;
  const out = [...args];
  for (const pattern of patterns) {
    const matches = glob?.sync(pattern, { onlyDirectories: true, followSymbolicLinks: false, absolute: true, dot: false }) ?? [];
    if (matches.length === 0) throw new UsageError(`--from ${pattern}: no directory matches`);
    out.push(...matches.sort());
  }
  return out;
}

export function registerRelayout(program: Command): void {
  program
    .command("relayout")
    .description("move existing Maildirs to where the layout hash puts their users; with no Maildir named, re-place every home of the tree (under a new --fanout)")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .argument("[maildir...]", "Maildirs to bring into the tree")
    .option("--from <pattern>", 'glob of Maildirs to bring in, e.g. "/home/*/Maildir" (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option("--user-from <regex>", "user name from each Maildir's path: named group user (and domain: user@domain), or group 1")
    .option("--fanout <widths>", "hash characters per level; with no Maildir named, re-hashes the tree to it")
    .option("--link", "leave a symlink at each old place pointing to the new one")
    .option("--dry-run", "list every move and every conflict; change nothing")
    .option("--json", "print one JSON summary on stdout")
    .option("--no-progress", "never show a progress bar")
    .option("--shard <K/N>", SHARD_HELP)
    .action(async (args: string[], cli: RelayoutCli) => {
      process.exitCode = await relayoutCommand(args, cli);
    });
}

async function relayoutCommand(args: string[], cli: RelayoutCli): Promise<number> {
  const root = path.resolve(cli.root);
  if (fs.existsSync(root) && !fs.lstatSync(root).isDirectory()) throw new UsageError(`--root ${cli.root} is not a directory`);
  const shard = selectShard(cli.shard);
  const requested = fanoutOption(cli.fanout);
  let userFrom: RegExp | undefined;
  try {
    userFrom = cli.userFrom === undefined ? undefined : new RegExp(cli.userFrom);
  } catch (err) {
    throw new UsageError(`--user-from: ${(err as Error).message}`);
  }
  const transition = fs.existsSync(root) ? readTransition(root) : undefined;
  const sources = namedSources(args, cli.from);
  let tasks: MoveTask[];
  let fanout: Fanout;
  let rehash: { from: Fanout; to: Fanout } | undefined;
  if (sources.length > 0) {
    if (transition) throw new UsageError(`${root} is being re-hashed to fanout ${formatFanout(transition.to)}: finish that first (mailstore relayout --root ${cli.root})`);
    try {
      fanout = resolveFanout(root, requested, { write: !cli.dryRun });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const named = sourceTasks(sources, userFrom, shard);
    if (named.unnamed.length > 0) throw new UsageError(`--user-from ${cli.userFrom} does not match ${named.unnamed[0]}${named.unnamed.length > 1 ? ` (and ${named.unnamed.length - 1} more)` : ""}`);
    tasks = named.tasks;
  } else {
    if (!fs.existsSync(root)) throw new UsageError(`--root ${cli.root} does not exist (name Maildirs to bring in, or an existing tree to re-place)`);
    const recorded = resolveFanout(root, undefined, { write: false });
    const from = transition?.from ?? recorded;
    fanout = requested ?? transition?.to ?? recorded;
    if (transition && formatFanout(transition.to) !== formatFanout(fanout)) {
      throw new UsageError(`${root} is being re-hashed to fanout ${formatFanout(transition.to)}, not ${formatFanout(fanout)}: finish that first`);
    }
    rehash = { from, to: fanout };
    if (!cli.dryRun && !transition && formatFanout(from) !== formatFanout(fanout)) startTransition(root, rehash);
    tasks = treeTasks(root, from, shard);
  }

  const progress = makeProgress(tasks.length, cli.progress !== false && !cli.json && process.stderr.isTTY === true, "mailboxes");
  const results: MoveResult[] = [];
  for (const task of tasks) {
    const r = await moveMaildir(task, { root, fanout, link: cli.link === true, dryRun: cli.dryRun === true });
    results.push(r);
    progress.add(1, 0);
    if (r.status === "failed" || r.status === "conflict" || r.status === "busy") progress.log(`mailstore: ${r.status === "failed" ? "FAILED" : r.status} ${r.user}: ${r.error}`, true);
    else if (!cli.json && r.status !== "in-place") progress.log(`${r.status.padEnd(9)} ${r.user}: ${r.source} -> ${r.target}${r.method ? ` (${r.method})` : ""}${r.linked ? ", old place linked" : ""}`);
  }
  progress.stop();
  const count = (s: MoveResult["status"]) => results.filter((r) => r.status === s).length;
  const left = count("failed") + count("conflict") + count("busy");
  // The tree's layout changes only when a whole (unsharded) run finds every home in its new place.
  let committed = false;
  if (rehash && !cli.dryRun && !shard && left === 0 && formatFanout(rehash.from) !== formatFanout(rehash.to)) {
    finishTransition(root, rehash);
    committed = true;
  }
  const totals = { maildirs: results.length, moved: count("moved"), copied: count("copied"), inPlace: count("in-place"), planned: count("planned"), conflicts: count("conflict"), busy: count("busy"), failed: count("failed") };
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({ root, fanout, dryRun: cli.dryRun === true, shard: cli.shard, layoutCommitted: committed, totals, moves: results }, null, 2)}\n`);
  } else {
    const verb = cli.dryRun ? "would move" : "moved";
    process.stdout.write(
      `${verb} ${cli.dryRun ? totals.planned : totals.moved + totals.copied} of ${totals.maildirs} Maildirs (${totals.inPlace} already in place)${left ? `; ${totals.conflicts} conflict(s), ${totals.busy} in use, ${totals.failed} failed: run again once resolved` : ""}${committed ? `; the tree's fanout is now ${formatFanout(fanout)}` : ""}\n`,
    );
  }
  return left > 0 ? EXIT.failed : EXIT.ok;
}

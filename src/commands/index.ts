import path from "node:path";
import type { Command } from "commander";
import type { IndexResult } from "../index/run.js";
import { STATE_FILE, type Stamp, StampStore, stampHolds } from "../index/stamp.js";
import { listUsers } from "../index/tree.js";
import { type Fanout, userMaildir } from "../maildir/layout.js";
import type { MailboxTask } from "../migrate/mailbox.js";
import { inShard, type Shard } from "../maildir/shard.js";
import { defaultJobs, EXIT, existingRootLayout, positiveInt, SHARD_HELP, selectShard } from "./common.js";
import { makeProgress, type Progress } from "./output.js";

/** The tree's stamp store (one per shard); none, with a warning, where its file cannot be read (a symlink, say). */
function openStamps(root: string, shard: Shard | undefined): StampStore | undefined {
  const file = path.join(root, shard ? STATE_FILE.replace(/\.json$/, `-${shard.index}-of-${shard.count}.json`) : STATE_FILE);
  try {
    return new StampStore(file);
  } catch (err) {
    process.stderr.write(`mailstore: warning: ${file}: ${(err as Error).message}; every mailbox is checked in full\n`);
    return undefined;
  }
}

interface IndexCliOptions {
  root: string;
  full?: boolean;
  fanout?: string;
  jobs?: number;
  lockTimeout: number;
  json?: boolean;
  progress: boolean;
  shard?: string;
}

export function registerIndex(program: Command): void {
  program
    .command("index")
    .description("build or update the SQLite index of every mailbox in the tree, or of the users named")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .argument("[user...]", "users (default: every user in the tree)")
    .option("--full", "re-read every message (UIDs are kept)")
    .option("--fanout <widths>", "hash characters per level (default: the root's)")
    .option("--jobs <n>", "mailboxes in parallel (default: cores)", (v) => positiveInt(v, "--jobs"))
    .option("--lock-timeout <seconds>", "how long to wait for a mailbox another index run holds, before skipping it", (v) => positiveInt(v, "--lock-timeout"), 10)
    .option("--json", "print one JSON summary on stdout")
    .option("--no-progress", "never show a progress bar")
    .option("--shard <K/N>", SHARD_HELP)
    .action(async (users: string[], cli: IndexCliOptions) => {
      const { root, fanout } = existingRootLayout(cli.root, cli.fanout);
      const shard = selectShard(cli.shard);
      const names = (users.length > 0 ? users : listUsers(root, fanout, shard)).filter((u) => inShard(u, shard));
      const started = Date.now();
      const progress = makeProgress(names.length, !cli.json && cli.progress !== false && process.stderr.isTTY === true, "mailboxes");
      // Mailboxes whose folders and index file are as the last run left them are answered
      // here; only the others go to worker threads (none on a night when nothing changed).
      const stamps = openStamps(root, shard);
      const results: IndexResult[] = new Array(names.length);
      const pending: number[] = [];
      names.forEach((user, i) => {
        const stamp = cli.full ? undefined : stamps?.get(user);
        if (stamp && stampHolds(userMaildir(root, user, fanout), stamp)) {
          results[i] = { user, status: "indexed", unchanged: true, seconds: 0 };
          progress.add(1, 0);
        } else pending.push(i);
      });
      const tasks: MailboxTask[] = pending.map((i) => ({ source: "", user: names[i] }));
      const worked = tasks.length === 0 ? [] : await indexOnWorkers(tasks, { root, fanout }, cli, progress);
      pending.forEach((at, i) => (results[at] = worked[i]));
      if (stamps) {
        try {
          stamps.save(new Map<string, Stamp | null>(worked.map((r) => [r.user, r.status === "indexed" ? (r.stamp ?? null) : null])));
        } catch (err) {
          progress.log(`mailstore: warning: ${STATE_FILE} not saved: ${(err as Error).message}`, true);
        }
      }
      progress.stop();
      const failed = results.filter((r) => r.status === "failed").length;
      const totals = {
        users: results.length,
        failed,
        added: results.reduce((a, r) => a + (r.added ?? 0), 0),
        renamed: results.reduce((a, r) => a + (r.renamed ?? 0), 0),
        removed: results.reduce((a, r) => a + (r.removed ?? 0), 0),
        broken: results.reduce((a, r) => a + (r.broken ?? 0), 0),
        seconds: (Date.now() - started) / 1000,
      };
      // The stamps are the state file's business, not the report's.
      const shown = results.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "stamp")));
      if (cli.json) process.stdout.write(`${JSON.stringify({ root, totals, users: shown }, null, 2)}\n`);
      else process.stdout.write(`indexed ${totals.users - failed} of ${totals.users} mailboxes: ${totals.added} new, ${totals.renamed} renamed, ${totals.removed} removed in ${totals.seconds.toFixed(1)} s\n`);
      process.exitCode = failed > 0 ? EXIT.failed : EXIT.ok;
    });
}

/**
 * Indexes the mailboxes that need it on worker threads. The pool (and worker_threads) is
 * loaded here, only when there is one: not on a night when nothing changed.
 */
async function indexOnWorkers(tasks: MailboxTask[], layout: { root: string; fanout: Fanout }, cli: IndexCliOptions, progress: Progress): Promise<IndexResult[]> {
  const { root, fanout } = layout;
  const { runTasks } = await import("../migrate/run-tasks.js");
  return runTasks<IndexResult>(
    tasks,
    {
      jobs: cli.jobs ?? defaultJobs(),
      // Two mailboxes per worker: one is parsed while the last one's new index is flushed.
      depth: 2,
      shared: { mode: "index", options: { root, fanout, full: cli.full === true, lockWaitMs: cli.lockTimeout * 1000 } },
      keyOf: (t) => t.user,
      crashed: (t, e) => ({ user: t.user, status: "failed", seconds: 0, error: `crashed: ${e.message}` }),
    },
    {
      result: (_i, r) => {
        progress.add(1, r.added ?? 0);
        if (r.setAside) progress.log(`mailstore: warning: ${r.user}: damaged index set aside: ${r.setAside}`, true);
        // Quiet for cron: problems on stderr, the per-mailbox detail in --json only.
        if (r.status === "failed") progress.log(`mailstore: FAILED ${r.user}: ${r.error}`, true);
        else if (r.status === "skipped") progress.log(`mailstore: skipped ${r.user}: ${r.error}`, true);
        if (r.broken) progress.log(`mailstore: warning: ${r.user}: ${r.broken} message file(s) unreadable or without a header; indexed with what could be read`, true);
      },
    },
  );
}

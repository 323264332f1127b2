import type { Command } from "commander";
import { emptyMailboxResult, feedMinBytes, feedThreadPays, type MailboxResult, type MailboxTask } from "../migrate/task.js";
import { runTasks } from "../migrate/run-tasks.js";
import { stopPoolWorkers } from "../migrate/pool.js";
import { inShard } from "../maildir/shard.js";
import { removeHeldFilesOnSignals } from "../util/held-files.js";
import { defaultJobs, EXIT, selectShard } from "./common.js";
import { addSourceOptions, buildOptions, type SourceCliOptions, sourceBytes } from "./source-options.js";
import { formatBytes, makeProgress } from "./output.js";
import { resolveTasks } from "./sources.js";

export function registerMigrate(program: Command): void {
  addSourceOptions(program.command("migrate").description("convert mbox files into Maildirs under the hashed tree").argument("[mbox...]", "mbox files or glob patterns"))
    .option("--dry-run", "read and plan: count messages and bytes, report problems, write nothing")
    .option("--sync <policy>", "durable (flush each batch before it becomes visible) or none", "durable")
    .option("--owner <uid:gid>", "owner of created files (default as root: the source's owner)")
    .option("--no-index", "do not update the users' indexes (mailstore.sqlite) afterwards")
    .action(async (args: string[], cli: SourceCliOptions) => {
      process.exitCode = await migrateCommand(args, cli);
    });
}

async function migrateCommand(args: string[], cli: SourceCliOptions): Promise<number> {
  const shard = selectShard(cli.shard);
  const tasks = resolveTasks(args, cli).filter((t) => inShard(t.user, shard));
  const options = buildOptions(cli, !cli.dryRun);
  const started = Date.now();
  const sizes = tasks.map((t) => sourceBytes([t.source]));
  const cores = defaultJobs();
  const jobs = cli.jobs ?? cores;
  options.feedThread = feedThreadPays(Math.min(jobs, tasks.length), cores);
  // A source large enough to be indexed on the feed thread gets it started early.
  const prestartFeed = !options.dryRun && options.index !== false && options.feedThread && sizes.some((size) => size >= feedMinBytes());
  const progress = makeProgress(sizes.reduce((a, b) => a + b, 0), cli.progress && !cli.json && process.stderr.isTTY === true);
  // Interrupted, the run removes the dotlocks it holds (the journal makes the next run go on).
  removeHeldFilesOnSignals(
    (message) => {
      progress.stop();
      process.stderr.write(`mailstore: ${message}\n`);
    },
    () => stopPoolWorkers(2000),
  );
  // Bytes read per mailbox: a failed (or unchanged) one is credited with the rest of its file,
  // so the bar ends at 100%.
  const consumed = new Map<number, number>();
  const results = await runTasks<MailboxResult>(
    tasks,
    { jobs, shared: { mode: "migrate", options, prestartFeed }, keyOf: (t) => t.user, crashed: (task, error) => crashedResult(task, error) },
    {
      progress: (i, bytes, messages) => {
        consumed.set(i, (consumed.get(i) ?? 0) + bytes);
        progress.add(bytes, messages);
      },
      result: (i, r) => {
        progress.add(Math.max(0, sizes[i] - (consumed.get(i) ?? 0)), 0);
        // Failures and warnings go to stderr (cron mails it); the rest to stdout.
        for (const w of r.warnings) progress.log(`mailstore: warning: ${r.user}: ${r.source}: ${w}`, true);
        if (r.status === "failed") progress.log(`mailstore: FAILED ${r.user}: ${r.error}`, true);
        else if (!cli.json) progress.log(describe(r));
      },
    },
  );
  progress.stop();
  const failed = results.filter((r) => r.status === "failed").length;
  const totals = {
    mailboxes: results.length,
    failed,
    messages: results.reduce((a, r) => a + r.messages, 0),
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    seconds: (Date.now() - started) / 1000,
  };
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({ root: options.root, dryRun: options.dryRun, totals, mailboxes: results }, null, 2)}\n`);
  } else {
    const verb = options.dryRun ? "would migrate" : "migrated";
    process.stdout.write(`${verb} ${totals.messages} messages (${formatBytes(totals.bytes)}) from ${totals.mailboxes - failed} of ${totals.mailboxes} mailboxes in ${totals.seconds.toFixed(1)} s${failed ? `; ${failed} failed` : ""}\n`);
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

function describe(r: MailboxResult): string {
  const what = `${r.user}${r.folder === "INBOX" ? "" : ` (${r.folder})`}`;
  switch (r.status) {
    case "unchanged":
      return `unchanged  ${what}: ${r.source} -> ${r.target}: already migrated (${r.previous} messages)`;
    case "planned":
      return `plan       ${what}: ${r.source} -> ${r.target}: ${r.messages} messages, ${formatBytes(r.bytes)}${r.skippedPseudo ? ", 1 folder-data message skipped" : ""}${afterEarlier(r)}${uidsNote(r)}`;
    default:
      return `${r.status.padEnd(10)} ${what}: ${r.source} -> ${r.target}: ${r.messages} messages, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s${afterEarlier(r)}${uidsNote(r)}`;
  }
}

function afterEarlier(r: MailboxResult): string {
  return r.previous ? ` (after ${r.previous} from earlier runs)` : "";
}

function uidsNote(r: MailboxResult): string {
  return r.uids ? `; dovecot-uidlist: ${r.uids.carried} UIDs kept, ${r.uids.renumbered} new` : "";
}

function crashedResult(task: MailboxTask, error: Error): MailboxResult {
  return { ...emptyMailboxResult(task), error: `${task.source}: crashed: ${error.message}` };
}

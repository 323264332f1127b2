#!/usr/bin/env node

// migrate and verify run each mailbox on a pool worker: the first one starts as the rest of
// the program loads, so its boot and the loading of its code (~0.2 s) overlap the option
// parsing and the search for sources instead of following them. A run of one mailbox (--user,
// or one mbox named) runs it on this thread instead (src/migrate/run-tasks.ts): its code
// starts loading here. Other commands do not load the pool at all (the nightly index with
// nothing to do starts no thread).
const named = process.argv[2];

// `mailstore list alice | head`: the program ends quietly when its reader goes away.
(await import("./util/closed-output.js")).exitWhenOutputCloses();

// The long jobs run as batch work (src/util/sched.ts), set before any thread of ours starts
// so that the pool worker, the index feed and the thread pool inherit it. The queries (stat,
// list, path), which a front end may be waiting on, keep the normal policy.
const BATCH_COMMANDS = new Set(["migrate", "verify", "index", "report", "relayout"]);
if (BATCH_COMMANDS.has(named)) (await import("./util/sched.js")).runAsBatchJob();

// The commands whose work runs on worker threads (src/migrate/pool.ts).
const POOL_COMMANDS = new Set(["migrate", "verify", "index"]);

const prestart = async () => {
  if (named !== "migrate" && named !== "verify") return;
  const { namesOneMailbox } = await import("./commands/lone-source.js");
  if (namesOneMailbox(process.argv.slice(3))) (await import("./migrate/task-runner.js")).preload(named);
  else (await import("./migrate/pool.js")).prestartWorker(new URL("./migrate/worker.js", import.meta.url), { mode: named });
};

const [{ Command, CommanderError }, { EXIT }, { UsageError }] = await Promise.all([import("./util/commander.js"), import("./commands/common.js"), import("./commands/sources.js"), prestart()]);
type Program = InstanceType<typeof Command>;

// Each command's module is loaded only when that command runs: the nightly `index` with
// nothing to do should not pay for loading migrate's or report's code.
const COMMANDS: Record<string, () => Promise<(program: Program) => void>> = {
  migrate: async () => (await import("./commands/migrate.js")).registerMigrate,
  verify: async () => (await import("./commands/verify.js")).registerVerify,
  path: async () => (await import("./commands/path.js")).registerPath,
  index: async () => (await import("./commands/index.js")).registerIndex,
  stat: async () => (await import("./commands/stat.js")).registerStat,
  list: async () => (await import("./commands/stat.js")).registerStat,
  report: async () => (await import("./commands/report.js")).registerReport,
  relayout: async () => (await import("./commands/relayout.js")).registerRelayout,
};

const program = new Command()
  .name("mailstore")
  .description("Move mbox mail into a hashed Maildir tree, exactly and resumably; index, audit and relayout it.")
  .version("0.1.0")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

try {
  const loaders = named !== undefined && named in COMMANDS ? [COMMANDS[named]] : [...new Set(Object.values(COMMANDS))];
  const registered = new Set<(program: Program) => void>();
  for (const load of loaders) {
    const register = await load();
    if (!registered.has(register)) register(program);
    registered.add(register);
  }
  await program.parseAsync(process.argv);
  // A run on the pool ends without its threads torn down one by one (src/util/exit-now.ts).
  if (POOL_COMMANDS.has(named)) (await import("./util/exit-now.js")).exitNowIfDone(Number(process.exitCode ?? 0));
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    process.stderr.write(`mailstore: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`mailstore: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
}

#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { EXIT } from "./commands/common.js";
import { registerIndex } from "./commands/index.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerPath } from "./commands/path.js";
import { registerRelayout } from "./commands/relayout.js";
import { registerReport } from "./commands/report.js";
import { registerStat } from "./commands/stat.js";
import { UsageError } from "./commands/sources.js";
import { registerVerify } from "./commands/verify.js";

const program = new Command()
  .name("mailstore")
  .description("Move mbox mail into a hashed Maildir tree, exactly and resumably.")
  .version("0.1.0")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerMigrate(program);
registerVerify(program);
registerPath(program);
registerIndex(program);
registerStat(program);
registerReport(program);
registerRelayout(program);

try {
  await program.parseAsync(process.argv);
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

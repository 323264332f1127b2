import type { Command } from "commander";
import { userMaildir, userNameProblem } from "../maildir/layout.js";
import { EXIT, rootLayout } from "./common.js";
import { UsageError } from "./sources.js";

export function registerPath(program: Command): void {
  program
    .command("path")
    .description("print where a user's Maildir lives in the hashed tree")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .option("--fanout <widths>", 'hash characters per level (default: the root\'s, else 2,2)')
    .argument("<user...>", "user names")
    .action((users: string[], cli: { root: string; fanout?: string }) => {
      const { root, fanout } = rootLayout(cli.root, cli.fanout);
      for (const user of users) {
        const problem = userNameProblem(user);
        if (problem) throw new UsageError(problem);
        process.stdout.write(`${userMaildir(root, user, fanout)}\n`);
      }
      process.exitCode = EXIT.ok;
    });
}

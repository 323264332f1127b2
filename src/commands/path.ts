import path from "node:path";
import type { Command } from "commander";
import { parseFanout, userMaildir, userNameProblem } from "../maildir/layout.js";
import { resolveFanout } from "../maildir/root-config.js";
import { EXIT } from "./common.js";
import { UsageError } from "./sources.js";

export function registerPath(program: Command): void {
  program
    .command("path")
    .description("print where a user's Maildir lives in the hashed tree")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .option("--fanout <widths>", 'hash characters per level (default: the root\'s, else 2,2)')
    .argument("<user...>", "user names")
    .action((users: string[], cli: { root: string; fanout?: string }) => {
      const root = path.resolve(cli.root);
      let fanout: number[];
      try {
        fanout = resolveFanout(root, cli.fanout === undefined ? undefined : parseFanout(cli.fanout), { write: false });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      for (const user of users) {
        const problem = userNameProblem(user);
        if (problem) throw new UsageError(problem);
        process.stdout.write(`${userMaildir(root, user, fanout)}\n`);
      }
      process.exitCode = EXIT.ok;
    });
}

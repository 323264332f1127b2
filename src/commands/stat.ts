import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { INDEX_FILE } from "../index/db.js";
import { listMessages, mailboxStat } from "../index/query.js";
import { userMaildir, userNameProblem } from "../maildir/layout.js";
import { EXIT, existingRootLayout } from "./common.js";
import { formatBytes } from "./output.js";
import { UsageError } from "./sources.js";

function locate(rootArg: string, user: string, fanoutArg?: string): string {
  const problem = userNameProblem(user);
  if (problem) throw new UsageError(problem);
  const { root, fanout } = existingRootLayout(rootArg, fanoutArg);
  const maildir = userMaildir(root, user, fanout);
  if (!fs.existsSync(path.join(maildir, INDEX_FILE))) throw new Error(`no index for ${user} at ${maildir}: run mailstore index --root ${rootArg} ${user}`);
  return maildir;
}

/** "10M", "512k", "2000" → bytes. */
function parseSize(value: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (!m) throw new UsageError(`--larger-than takes a size like 500k or 10M, not "${value}"`);
  return Number(m[1]) * ({ "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2].toLowerCase()];
}

export function registerStat(program: Command): void {
  program
    .command("stat")
    .description("counts and sizes per folder, from the index alone")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .option("--fanout <widths>", "hash characters per level (default: the root's)")
    .option("--json", "print JSON")
    .argument("<user>")
    .action((user: string, cli: { root: string; fanout?: string; json?: boolean }) => {
      const stat = mailboxStat(user, locate(cli.root, user, cli.fanout));
      if (cli.json) process.stdout.write(`${JSON.stringify(stat, null, 2)}\n`);
      else {
        process.stdout.write(`${stat.user}: ${stat.messages} messages, ${formatBytes(stat.bytes)} (${stat.path}, indexed ${stat.indexedAt ?? "never"})\n`);
        for (const f of stat.folders) {
          process.stdout.write(`  ${f.name.padEnd(24)} ${String(f.messages).padStart(7)} msgs ${formatBytes(f.bytes).padStart(9)}  unseen ${f.unseen}  flagged ${f.flagged}  deleted ${f.deleted}  recent ${f.recent}  uidvalidity ${f.uidValidity}  uidnext ${f.uidNext}\n`);
        }
      }
      process.exitCode = EXIT.ok;
    });

  program
    .command("list")
    .description("one line per message, from the index alone")
    .requiredOption("--root <dir>", "root of the hashed Maildir tree")
    .option("--fanout <widths>", "hash characters per level (default: the root's)")
    .option("--folder <name>", 'only this folder ("INBOX", "Archive.2019")')
    .option("--from <text>", "From contains this text (any case)")
    .option("--subject <text>", "Subject contains this text (any case)")
    .option("--since <date>", "received on or after this date")
    .option("--larger-than <size>", "larger than this size (500k, 10M)")
    .option("--json", "print one JSON array")
    .argument("<user>")
    .action((user: string, cli: { root: string; fanout?: string; folder?: string; from?: string; subject?: string; since?: string; largerThan?: string; json?: boolean }) => {
      const since = cli.since === undefined ? undefined : new Date(cli.since);
      if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since takes a date (2024-01-31), not "${cli.since}"`);
      const rows = listMessages(locate(cli.root, user, cli.fanout), {
        folder: cli.folder,
        from: cli.from,
        subject: cli.subject,
        since,
        largerThan: cli.largerThan === undefined ? undefined : parseSize(cli.largerThan),
      });
      if (cli.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) process.stdout.write(`${r.folder}\t${r.uid}\t${r.flags || "-"}\t${r.size}\t${r.received.slice(0, 19)}\t${r.from}\t${r.subject}\n`);
      process.exitCode = EXIT.ok;
    });
}

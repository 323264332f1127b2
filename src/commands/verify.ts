import type { Command } from "commander";
import { runTasks } from "../migrate/run-tasks.js";
import { inShard } from "../maildir/shard.js";
import { emptyVerifyResult, type VerifyResult } from "../migrate/verify.js";
import { defaultJobs, EXIT, selectShard } from "./common.js";
import { addSourceOptions, buildOptions, type SourceCliOptions, sourceBytes } from "./source-options.js";
import { makeProgress } from "./output.js";
import { resolveTasks } from "./sources.js";

export function registerVerify(program: Command): void {
  addSourceOptions(program.command("verify").description("compare mbox sources with their migrated Maildirs, message by message").argument("[mbox...]", "mbox files or glob patterns")).action(
    async (args: string[], cli: SourceCliOptions) => {
      process.exitCode = await verifyCommand(args, cli);
    },
  );
}

const LIST_LIMIT = 20;

async function verifyCommand(args: string[], cli: SourceCliOptions): Promise<number> {
  const shard = selectShard(cli.shard);
  const tasks = resolveTasks(args, cli).filter((t) => inShard(t.user, shard));
  const options = buildOptions(cli, false);
  const progress = makeProgress(sourceBytes(tasks.map((t) => t.source)), cli.progress && !cli.json && process.stderr.isTTY === true);
  const results = await runTasks<VerifyResult>(
    tasks,
    { jobs: cli.jobs ?? defaultJobs(), shared: { mode: "verify", options }, keyOf: (t) => t.user, crashed: (task, error) => ({ ...emptyVerifyResult(task), error: `${task.source}: crashed: ${error.message}` }) },
    {
      progress: (_i, bytes, messages) => progress.add(bytes, messages),
      result: (_i, r) => {
        if (r.status === "failed") progress.log(`mailstore: FAILED ${r.user}: ${r.error}`, true);
        else if (!cli.json) progress.log(describe(r));
      },
    },
  );
  progress.stop();
  const bad = results.filter((r) => r.status !== "ok").length;
  if (cli.json) process.stdout.write(`${JSON.stringify({ root: options.root, mailboxes: results, differing: bad }, null, 2)}\n`);
  else process.stdout.write(`${results.length - bad} of ${results.length} mailboxes match their source${bad ? `; ${bad} do not` : ""}\n`);
  return bad > 0 ? EXIT.failed : EXIT.ok;
}

function describe(r: VerifyResult): string {
  const what = `${r.user}${r.folder === "INBOX" ? "" : ` (${r.folder})`}`;
  if (r.status === "ok") return `ok       ${what}: ${r.sourceMessages} messages match (${r.target})`;
  const lines = [`DIFFERS  ${what}: ${r.source} vs ${r.target}: ${r.missing.length} missing, ${r.extra.length} extra, ${r.different.length} different${r.uids?.wrong.length ? `, ${r.uids.wrong.length} under other UIDs` : ""}`];
  if (r.noMaildir) lines.push(`  there is no Maildir at ${r.target}: the mailbox was not migrated, or was migrated under another --root or --fanout`);
  if (r.sourceChangedAt !== undefined) lines.push(`  the source changed since it was migrated, from byte ${r.sourceChangedAt}: messages from there are matched by content`);
  const uids = r.uids;
  if (uids && uids.listValidity !== uids.validity) {
    lines.push(`  dovecot-uidlist ${uids.listValidity === null ? "is missing" : `has UIDVALIDITY ${uids.listValidity}`}, not the source's ${uids.validity}: IMAP clients will fetch the folder again`);
  }
  for (const w of uids?.wrong.slice(0, LIST_LIMIT) ?? []) {
    lines.push(`  uid       message ${w.message} -> ${w.file}: listed as UID ${w.listedUid}${w.uidl !== undefined ? ` UIDL ${w.listedUidl ?? "(none)"}` : ""}, not ${w.uid}${w.uidl !== undefined ? ` UIDL ${w.uidl}` : ""}`);
  }
  if (r.notYetMigrated) lines.push(`  ${r.notYetMigrated} of the missing are past what was migrated (mail delivered to the source since, or a run not finished): mailstore migrate adds them`);
  // Without a Maildir every message is missing: the count says it.
  for (const m of r.noMaildir ? [] : r.missing.slice(0, LIST_LIMIT)) lines.push(`  missing   message ${m.message} (byte ${m.offset} of the source)`);
  for (const d of r.different.slice(0, LIST_LIMIT)) lines.push(`  different message ${d.message} (byte ${d.offset}) -> ${d.file}`);
  for (const e of r.extra.slice(0, LIST_LIMIT)) lines.push(`  extra     ${e}`);
  const hidden = (r.noMaildir ? 0 : Math.max(0, r.missing.length - LIST_LIMIT)) + Math.max(0, r.different.length - LIST_LIMIT) + Math.max(0, r.extra.length - LIST_LIMIT) + Math.max(0, (uids?.wrong.length ?? 0) - LIST_LIMIT);
  if (hidden) lines.push(`  ... and ${hidden} more (--json lists all)`);
  return lines.join("\n");
}

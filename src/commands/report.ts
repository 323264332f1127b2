import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Option } from "../util/commander.js";
import { replaceFile } from "../util/replace-file.js";
import { parseQuotaSpec, parseSize, readQuotaFile } from "../report/quota.js";
import { History } from "../report/history.js";
import { renderCsv } from "../report/render/csv.js";
import { renderHtml } from "../report/render/html.js";
import { renderPrometheus } from "../report/render/prometheus.js";
import { renderTable } from "../report/render/table.js";
import type { Report } from "../report/analyze.js";
import { defaultCacheFile, runReport } from "../report/run.js";
import { MergeError, mergeReports } from "../report/summary.js";
import type { Shard } from "../maildir/shard.js";
import { DEFAULT_THRESHOLDS, type Thresholds } from "../report/thresholds.js";
import { defaultJobs, EXIT, existingRootLayout, positiveInt, selectShard } from "./common.js";
import { makeProgress, type Progress } from "./output.js";
import { mboxFiles, UsageError } from "./sources.js";

/** Exit status when the report finds a critical hot spot, so cron and monitoring can alert. */
export const EXIT_CRITICAL = 3;

interface ReportCli {
  root?: string;
  shard?: string;
  merge?: string[];
  format: "table" | "json" | "csv" | "prometheus" | "html";
  json?: boolean;
  output?: string;
  fanout?: string;
  jobs?: number;
  quota?: string;
  quotaFile?: string;
  mbox: string[];
  history?: string;
  cache: string | boolean;
  crossFilesystems?: boolean;
  top: number;
  progress: boolean;
  now?: string;
  largeDir: string;
  quotaPct: string;
  quotaDriftPct: string;
  inodePct: string;
  diskPct: string;
  staleTmpHours: string;
  newBacklog: string;
  largeMbox: string;
  scanRate: string;
}

/** "90,100" → [90, 100]; each a number, the second at least the first. */
function pair(value: string, option: string, parse: (s: string) => number | undefined = (s) => (s.trim() === "" || Number.isNaN(Number(s)) ? undefined : Number(s))): [number, number] {
  const parts = value.split(",").map((p) => parse(p));
  if (parts.length !== 2 || parts.some((p) => p === undefined || p < 0) || (parts[1] as number) < (parts[0] as number)) {
    throw new UsageError(`${option} takes a warning and a critical level, "warn,crit" (crit >= warn), not "${value}"`);
  }
  return parts as [number, number];
}

function single(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new UsageError(`${option} takes a number, not "${value}"`);
  return n;
}

function thresholdsOf(cli: ReportCli): Thresholds {
  const [dirEntriesWarn, dirEntriesCrit] = pair(cli.largeDir, "--large-dir");
  const [quotaWarnPct, quotaCritPct] = pair(cli.quotaPct, "--quota-pct");
  const [inodeWarnPct, inodeCritPct] = pair(cli.inodePct, "--inode-pct");
  const [diskWarnPct, diskCritPct] = pair(cli.diskPct, "--disk-pct");
  const [newBacklogMessages, newBacklogDays] = cli.newBacklog.split(",").map((p) => single(p, "--new-backlog"));
  if (newBacklogDays === undefined) throw new UsageError(`--new-backlog takes "messages,days", not "${cli.newBacklog}"`);
  const [mboxWarnBytes, mboxCritBytes] = pair(cli.largeMbox, "--large-mbox", parseSize);
  const rate = parseSize(cli.scanRate);
  if (!rate) throw new UsageError(`--scan-rate takes bytes per second like 16M, not "${cli.scanRate}"`);
  return {
    ...DEFAULT_THRESHOLDS,
    dirEntriesWarn,
    dirEntriesCrit,
    quotaWarnPct,
    quotaCritPct,
    quotaDriftPct: single(cli.quotaDriftPct, "--quota-drift-pct"),
    inodeWarnPct,
    inodeCritPct,
    diskWarnPct,
    diskCritPct,
    staleTmpHours: single(cli.staleTmpHours, "--stale-tmp-hours"),
    newBacklogMessages,
    newBacklogDays,
    mboxWarnBytes,
    mboxCritBytes,
    mboxScanBytesPerSecond: rate,
  };
}

function mergeFiles(files: string[], thresholds: Thresholds): Report {
  const reports = files.map((file) => {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as Report;
    } catch (err) {
      throw new UsageError(`--merge ${file}: not a mailstore report --json file (${(err as Error).message})`);
    }
  });
  try {
    return mergeReports(reports, thresholds);
  } catch (err) {
    if (err instanceof MergeError) throw new UsageError(`--merge: ${err.message}`);
    throw err;
  }
}

async function scan(cli: ReportCli, thresholds: Thresholds, now: number, shard: Shard | undefined): Promise<Report> {
  if (!cli.root) throw new UsageError("--root is required (or --merge to combine shard reports)");
  const { root, fanout } = existingRootLayout(cli.root, cli.fanout);
  const defaultQuota = cli.quota === undefined ? undefined : parseQuotaSpec(cli.quota);
  if (cli.quota !== undefined && !defaultQuota) throw new UsageError(`--quota takes bytes or "bytes,messages" (2G or 2G,50000), not "${cli.quota}"`);
  let quotaFile;
  if (cli.quotaFile) {
    try {
      quotaFile = readQuotaFile(cli.quotaFile);
    } catch (err) {
      throw new UsageError(`--quota-file ${(err as Error).message}`);
    }
  }
  const mboxes = cli.mbox.flatMap((spec) => mboxFiles(spec));
  // A bar on a terminal (stderr) for any format; nothing in cron or a pipe. Its size is known once the walk has found the users.
  const showProgress = cli.progress !== false && process.stderr.isTTY === true;
  let progress: Progress | undefined;
  return runReport({
    root,
    fanout,
    jobs: cli.jobs ?? defaultJobs(),
    thresholds,
    crossFilesystems: cli.crossFilesystems === true,
    cacheFile: cli.cache === false ? null : typeof cli.cache === "string" ? path.resolve(cli.cache) : defaultCacheFile(root, shard),
    quotaFile,
    defaultQuota,
    mboxes,
    shard,
    now,
    onProgress: showProgress
      ? (done, total) => {
          progress ??= makeProgress(total, true, "mailboxes");
          progress.add(1, 0);
          if (done === total) progress.stop();
        }
      : undefined,
    onWarning: (m) => process.stderr.write(`mailstore: warning: ${m}\n`),
  });
}

/** Writes beside the target and renames into place, so a collector never reads half a file. */
function writeAtomically(file: string, text: string): void {
  try {
    replaceFile(file, text, { mode: 0o644, tmp: path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`) });
  } catch (err) {
    throw new Error(`--output ${file}: ${(err as Error).message}`);
  }
}

const MiB = 1024 ** 2;

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("audit the tree: per-user size, inodes and quota, hot spots worst first (exit 3 on a critical one)")
    .option("--root <dir>", "root of the hashed Maildir tree (required unless --merge)")
    .option("--shard <K/N>", "only shard K of N (0 <= K < N) of the users, by layout hash; also MAILSTORE_SHARD, JOB_COMPLETION_INDEX + MAILSTORE_SHARD_COUNT, Slurm array variables")
    .option("--merge <report.json...>", "combine the --json reports of the shards of one job instead of scanning")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv", "prometheus", "html"]).default("table"))
    .option("--json", "same as --format json")
    .option("--output <file>", "write to this file (through a temporary file renamed into place) instead of stdout")
    .option("--fanout <widths>", "hash characters per level (default: the root's)")
    .option("--jobs <n>", "scanner processes (default: cores)", (v) => positiveInt(v, "--jobs"))
    .option("--quota <limit>", 'quota for users without one of their own: bytes, or "bytes,messages" (2G or 2G,50000)')
    .option("--quota-file <file>", '"user limit" lines; wins over maildirsize and --quota')
    .option("--mbox <dir|glob>", "mbox files still to migrate (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
    .option("--history <file>", "SQLite history: record a snapshot and show growth and projections")
    .option("--cache <file>", `scan cache (default: <root>/.mailstore-report.sqlite)`)
    .option("--no-cache", "scan everything, keep no cache")
    .option("--cross-filesystems", "enter directories on other filesystems")
    .option("--top <n>", "rows per table in the terminal and HTML output", (v) => positiveInt(v, "--top"), 20)
    .option("--no-progress", "never show a progress line")
    .addOption(new Option("--now <iso-time>", "pretend it is this time (tests, replays)").hideHelp())
    .option("--large-dir <warn,crit>", "entries in one directory", "10000,100000")
    .option("--quota-pct <warn,crit>", "share of quota used, percent", "90,100")
    .option("--quota-drift-pct <pct>", "maildirsize differing from the disk by more than this (and 1 MiB)", "10")
    .option("--inode-pct <warn,crit>", "filesystem inodes used, percent", "25,50")
    .option("--disk-pct <warn,crit>", "filesystem bytes used, percent", "50,80")
    .option("--stale-tmp-hours <h>", "age of a tmp/ file counted as a failed delivery", "36")
    .option("--new-backlog <messages,days>", "messages waiting in new/, or age of the oldest", "1000,30")
    .option("--large-mbox <warn,crit>", "mbox size", "100M,1G")
    .option("--scan-rate <bytes-per-second>", "linear mbox scan speed for the cost shown per mbox", `${Math.round((500 * MiB) / 30 / 1024)}k`)
    .action(async (cli: ReportCli) => {
      const format = cli.json ? "json" : cli.format;
      const thresholds = thresholdsOf(cli);
      const now = cli.now === undefined ? Date.now() : Date.parse(cli.now);
      if (Number.isNaN(now)) throw new UsageError(`--now takes an ISO time, not "${cli.now}"`);
      // A shard's snapshot would look like the whole tree shrank: history belongs to the merged report.
      const shard = cli.merge ? undefined : selectShard(cli.shard);
      if (cli.history && shard) throw new UsageError(`--history records whole-tree snapshots: give it to "mailstore report --merge" of the shards, not to shard ${shard.index}/${shard.count}`);
      const report = cli.merge ? mergeFiles(cli.merge, thresholds) : await scan(cli, thresholds, now, shard);
      if (cli.history) {
        const history = new History(path.resolve(cli.history));
        try {
          report.growth = history.growth(report, now, thresholds, cli.top);
          history.record(report, now);
        } finally {
          history.close();
        }
      }
      const text =
        format === "json" ? `${JSON.stringify(report, null, 2)}\n` : format === "csv" ? renderCsv(report) : format === "prometheus" ? renderPrometheus(report) : format === "html" ? renderHtml(report, cli.top) : renderTable(report, cli.top);
      if (cli.output) writeAtomically(path.resolve(cli.output), text);
      else process.stdout.write(text);
      process.exitCode = report.hotspots.some((h) => h.severity === "critical") ? EXIT_CRITICAL : EXIT.ok;
    });
}

import path from "node:path";
import type { Fanout } from "../maildir/layout.js";
import { formatBytes as gb } from "../util/units.js";
import type { Growth } from "./history.js";
import type { QuotaLimit } from "./quota.js";
import type { ScanResult } from "./scan.js";
import type { Thresholds } from "./thresholds.js";
import type { BucketDir, TreeWalk } from "../maildir/tree-walk.js";
import { summarize } from "./summary.js";

export type Severity = "warning" | "critical";
export type HotspotKind =
  | "large-directory"
  | "near-quota"
  | "over-quota"
  | "quota-drift"
  | "inode-pressure"
  | "disk-pressure"
  | "stale-tmp"
  | "new-backlog"
  | "unhashed-user"
  | "bucket-imbalance"
  | "large-mbox"
  | "symlink"
  | "unreadable";

export interface Hotspot {
  kind: HotspotKind;
  severity: Severity;
  path: string;
  user?: string;
  value: number;
  threshold: number;
  message: string;
}

export interface FilesystemInfo {
  type: number;
  bytesTotal: number;
  bytesUsed: number;
  bytesAvailable: number;
  /** Used share as df shows it: used / (used + available). */
  bytesPct: number;
  inodesTotal: number;
  inodesUsed: number;
  /** Null where the filesystem has no fixed inode table (btrfs reports none). */
  inodesPct: number | null;
}

export interface UserReport {
  user: string;
  path: string;
  hashed: boolean;
  /** Where the layout hash puts this user, when that is elsewhere. */
  expectedPath?: string;
  messages: number;
  bytes: number;
  indexBytes: number;
  otherBytes: number;
  diskBytes: number;
  inodes: number;
  files: number;
  dirs: number;
  folders: number;
  largestDir: { path: string; entries: number };
  newMessages: number;
  newOldestDays: number | null;
  staleTmpFiles: number;
  quotaBytes: number | null;
  quotaMessages: number | null;
  quotaPct: number | null;
  quotaSource: "quota-file" | "maildirsize" | "--quota" | null;
  maildirsizeBytes: number | null;
  maildirsizeMessages: number | null;
  error?: string;
}

export interface BucketLevel {
  level: number;
  width: number;
  possible: number;
  used: number;
  minUsers: number;
  maxUsers: number;
  meanUsers: number;
  fullest: string;
  /** histogram[n]: how many buckets hold n users. */
  histogram: number[];
}

export interface MboxFile {
  path: string;
  bytes: number;
  scanSeconds: number;
}

/** One link of a file with several: [inode, size, disk bytes, 1 when a message file]. Totals count an inode once. */
export type LinkSeen = [number, number, number, number];

export interface Report {
  root: string;
  generatedAt: string;
  scanSeconds: number;
  layout: { fanout: Fanout };
  /** "K/N" for one shard of a split job (mailstore report --merge combines them). */
  shard?: string;
  totals: { users: number; messages: number; bytes: number; inodes: number; diskBytes: number; indexBytes: number; otherBytes: number; hardLinkedBytes: number; directoriesRescanned: number };
  filesystem: FilesystemInfo;
  users: UserReport[];
  hotspots: Hotspot[];
  buckets: BucketLevel[];
  mboxes: MboxFile[];
  symlinks: { path: string; target: string }[];
  strays: string[];
  mounts: string[];
  errors: string[];
  /** Raw material for --merge: the bucket directories walked and every hard link seen. */
  bucketDirs: BucketDir[];
  hardLinks: LinkSeen[];
  /** With --history: growth since earlier snapshots and projections. */
  growth?: Growth;
}

export interface AnalyzeInput {
  root: string;
  fanout: Fanout;
  walk: TreeWalk;
  scans: ScanResult[];
  filesystem: FilesystemInfo;
  quotaFile?: Map<string, QuotaLimit>;
  defaultQuota?: QuotaLimit;
  mboxes: { path: string; bytes: number }[];
  thresholds: Thresholds;
  now: number;
  scanSeconds: number;
  shard?: string;
}

const DAY = 86_400_000;
const pct = (part: number, whole: number) => Math.round((part / whole) * 1000) / 10;

function userReport(root: string, result: ScanResult, input: AnalyzeInput, hot: Hotspot[]): UserReport {
  const { location, scan } = result;
  const home = path.join(root, location.rel);
  const t = input.thresholds;
  const user: UserReport = {
    user: location.user,
    path: home,
    hashed: location.hashed,
    ...(location.hashed ? {} : { expectedPath: path.join(root, location.expected) }),
    messages: 0,
    bytes: 0,
    indexBytes: 0,
    otherBytes: 0,
    diskBytes: 0,
    inodes: 0,
    files: 0,
    dirs: 0,
    folders: 0,
    largestDir: { path: home, entries: 0 },
    newMessages: 0,
    newOldestDays: null,
    staleTmpFiles: 0,
    quotaBytes: null,
    quotaMessages: null,
    quotaPct: null,
    quotaSource: null,
    maildirsizeBytes: scan?.maildirsize?.usedBytes ?? null,
    maildirsizeMessages: scan?.maildirsize?.usedMessages ?? null,
    ...(result.error ? { error: result.error } : {}),
  };
  if (!location.hashed) {
    hot.push({ kind: "unhashed-user", severity: "warning", path: home, user: location.user, value: 1, threshold: 0, message: `${location.user}'s Maildir is at ${home}, not where the layout hash puts it (${user.expectedPath}); mailstore relayout moves it` });
  }
  if (result.error) {
    hot.push({ kind: "unreadable", severity: "warning", path: home, user: location.user, value: 1, threshold: 0, message: `${home} could not be scanned: ${result.error}` });
  }
  let oldestNew = Infinity;
  const staleBefore = input.now - t.staleTmpHours * 3_600_000;
  for (const d of scan?.dirs ?? []) {
    const at = d.rel === "" ? home : path.join(home, d.rel);
    if (d.mount) {
      hot.push({ kind: "unreadable", severity: "warning", path: at, user: location.user, value: 1, threshold: 0, message: `${at} is on another filesystem and was not entered (--cross-filesystems enters it)` });
      continue;
    }
    user.dirs++;
    user.files += d.files;
    user.inodes += 1 + d.files + d.symlinks.length + d.specials;
    user.messages += d.messages;
    user.bytes += d.messageBytes;
    user.indexBytes += d.indexBytes;
    user.otherBytes += d.otherBytes;
    user.diskBytes += d.diskBytes;
    if (d.subdirs.includes("cur")) user.folders++;
    if (d.entries > user.largestDir.entries) user.largestDir = { path: at, entries: d.entries };
    if (d.entries >= t.dirEntriesWarn) {
      const critical = d.entries >= t.dirEntriesCrit;
      hot.push({ kind: "large-directory", severity: critical ? "critical" : "warning", path: at, user: location.user, value: d.entries, threshold: critical ? t.dirEntriesCrit : t.dirEntriesWarn, message: `${at} holds ${d.entries} entries; every lookup in it slows down` });
    }
    if (d.role === "new") {
      user.newMessages += d.files;
      if (d.times.length > 0) oldestNew = Math.min(oldestNew, d.times[0]);
    }
    if (d.role === "tmp") {
      const stale = d.times.filter((ms) => ms < staleBefore);
      user.staleTmpFiles += stale.length;
      if (stale.length > 0) {
        const hours = Math.floor((input.now - Math.min(...stale)) / 3_600_000);
        hot.push({ kind: "stale-tmp", severity: "warning", path: at, user: location.user, value: stale.length, threshold: t.staleTmpHours, message: `${stale.length} file(s) in ${at} older than ${t.staleTmpHours} hours (oldest ${hours} h): failed or interrupted deliveries` });
      }
    }
    for (const [name, target] of d.symlinks) {
      hot.push({ kind: "symlink", severity: "warning", path: path.join(at, name), user: location.user, value: 1, threshold: 0, message: `symlink ${path.join(at, name)} -> ${target} (not followed)` });
    }
    for (const e of d.errors) hot.push({ kind: "unreadable", severity: "warning", path: at, user: location.user, value: 1, threshold: 0, message: e });
  }
  if (oldestNew !== Infinity) user.newOldestDays = Math.floor((input.now - oldestNew) / DAY);
  if (user.newMessages >= t.newBacklogMessages || (user.newOldestDays ?? 0) >= t.newBacklogDays) {
    const byCount = user.newMessages >= t.newBacklogMessages;
    hot.push({
      kind: "new-backlog",
      severity: "warning",
      path: home,
      user: location.user,
      value: byCount ? user.newMessages : (user.newOldestDays ?? 0),
      threshold: byCount ? t.newBacklogMessages : t.newBacklogDays,
      message: `${location.user} has ${user.newMessages} message(s) never picked up from new/, the oldest ${user.newOldestDays} day(s) old: an abandoned account still receiving?`,
    });
  }
  applyQuota(user, scan?.maildirsize, input, hot);
  return user;
}

function applyQuota(user: UserReport, mds: { limitBytes?: number; limitMessages?: number } | undefined, input: AnalyzeInput, hot: Hotspot[]) {
  const t = input.thresholds;
  // The admin's quota file says what the policy is; maildirsize what the delivery agent enforces; --quota fills the gaps.
  const fromFile = input.quotaFile?.get(user.user);
  const fromMds = mds && (mds.limitBytes !== undefined || mds.limitMessages !== undefined) ? { bytes: mds.limitBytes, messages: mds.limitMessages } : undefined;
  const [limit, source] = fromFile ? [fromFile, "quota-file" as const] : fromMds ? [fromMds, "maildirsize" as const] : input.defaultQuota ? [input.defaultQuota, "--quota" as const] : [undefined, null];
  if (limit) {
    user.quotaBytes = limit.bytes ?? null;
    user.quotaMessages = limit.messages ?? null;
    user.quotaSource = source;
    const shares = [limit.bytes ? pct(user.bytes, limit.bytes) : 0, limit.messages ? pct(user.messages, limit.messages) : 0];
    user.quotaPct = Math.max(...shares);
    if (user.quotaPct >= t.quotaWarnPct) {
      const over = user.quotaPct >= t.quotaCritPct;
      const what = shares[0] >= shares[1] ? `${gb(user.bytes)} of ${gb(limit.bytes ?? 0)}` : `${user.messages} of ${limit.messages} messages`;
      hot.push({ kind: over ? "over-quota" : "near-quota", severity: over ? "critical" : "warning", path: user.path, user: user.user, value: user.quotaPct, threshold: over ? t.quotaCritPct : t.quotaWarnPct, message: `${user.user} uses ${user.quotaPct}% of the quota (${what}, from ${source})` });
    }
  }
  if (user.maildirsizeBytes !== null) {
    const drift = Math.abs(user.maildirsizeBytes - user.bytes);
    if (drift > 1024 ** 2 && drift > (user.bytes * t.quotaDriftPct) / 100) {
      hot.push({ kind: "quota-drift", severity: "warning", path: path.join(user.path, "maildirsize"), user: user.user, value: Math.round(pct(drift, Math.max(user.bytes, 1))), threshold: t.quotaDriftPct, message: `${user.user}'s maildirsize counts ${gb(user.maildirsizeBytes)} in ${user.maildirsizeMessages} messages, the disk holds ${gb(user.bytes)} in ${user.messages}: quota is enforced on the wrong figure (delete maildirsize to have it recalculated)` });
    }
  }
}

/** Turns the walk and the scans into the report: per-user figures, totals, hot spots worst first. */
export function analyze(input: AnalyzeInput): Report {
  const hot: Hotspot[] = [];
  const users = input.scans.map((s) => userReport(input.root, s, input, hot));
  const hardLinks: LinkSeen[] = [];
  for (const s of input.scans) {
    for (const d of s.scan?.dirs ?? []) for (const [ino, size, disk] of d.links) hardLinks.push([ino, size, disk, d.role === "cur" || d.role === "new" ? 1 : 0]);
  }
  return summarize(
    {
      root: input.root,
      generatedAt: new Date(input.now).toISOString(),
      scanSeconds: input.scanSeconds,
      layout: { fanout: input.fanout },
      ...(input.shard ? { shard: input.shard } : {}),
      users,
      userHotspots: hot,
      filesystem: input.filesystem,
      mboxes: input.mboxes,
      symlinks: input.walk.symlinks,
      strays: input.walk.strays,
      mounts: input.walk.mounts,
      errors: input.walk.errors,
      bucketDirs: input.walk.buckets,
      hardLinks,
      directoriesRescanned: input.scans.reduce((a, s) => a + (s.scan?.rescanned ?? 0), 0),
    },
    input.thresholds,
  );
}

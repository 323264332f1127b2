import path from "node:path";
import type { Fanout } from "../maildir/layout.js";
import { formatBytes as gb } from "../util/units.js";
import type { Growth } from "./history.js";
import type { QuotaLimit } from "./quota.js";
import type { DirRecord } from "./records.js";
import type { ScanResult } from "./scan.js";
import type { Thresholds } from "./thresholds.js";
import type { TreeWalk } from "./tree-walk.js";

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

export interface Report {
  root: string;
  generatedAt: string;
  scanSeconds: number;
  layout: { fanout: Fanout };
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

function bucketLevels(fanout: Fanout, walk: TreeWalk): BucketLevel[] {
  return fanout.map((width, i) => {
    const counts = new Map<string, number>();
    for (const u of walk.users) {
      if (!u.hashed) continue;
      const key = u.rel.split(path.sep).slice(0, i + 1).join("/");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const b of walk.buckets) if (b.level === i + 1 && !counts.has(b.rel)) counts.set(b.rel, 0);
    const values = [...counts.values()];
    let fullest = "";
    let max = 0;
    for (const [k, v] of counts) if (v > max) [fullest, max] = [k, v];
    return {
      level: i + 1,
      width,
      possible: 16 ** width,
      used: values.filter((v) => v > 0).length,
      minUsers: values.length ? Math.min(...values) : 0,
      maxUsers: max,
      meanUsers: values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 : 0,
      fullest,
      histogram: values.reduce((h, v) => {
        h[v] = (h[v] ?? 0) + 1;
        return h;
      }, new Array<number>(max + 1).fill(0)),
    };
  });
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1 };

/** Turns the walk and the scans into the report: per-user figures, totals, hot spots worst first. */
export function analyze(input: AnalyzeInput): Report {
  const { root, walk, thresholds: t, filesystem: fsInfo } = input;
  const hot: Hotspot[] = [];
  const users = input.scans.map((s) => userReport(root, s, input, hot)).sort((a, b) => b.bytes - a.bytes || a.user.localeCompare(b.user));

  // Hard links: each user keeps its own link for quota; the totals count an inode once.
  const seen = new Map<number, number>();
  let hardLinkedBytes = 0;
  let hardLinkedDisk = 0;
  let extraInodes = 0;
  for (const s of input.scans) {
    for (const d of s.scan?.dirs ?? []) {
      for (const [ino, size, disk] of d.links as DirRecord["links"]) {
        if (seen.has(ino)) {
          if (d.role === "cur" || d.role === "new") hardLinkedBytes += size;
          hardLinkedDisk += disk;
          extraInodes++;
        } else seen.set(ino, size);
      }
    }
  }
  const sum = (f: (u: UserReport) => number) => users.reduce((a, u) => a + f(u), 0);
  const totals = {
    users: users.length,
    messages: sum((u) => u.messages),
    bytes: sum((u) => u.bytes) - hardLinkedBytes,
    inodes: sum((u) => u.inodes) - extraInodes + walk.buckets.length,
    diskBytes: sum((u) => u.diskBytes) - hardLinkedDisk,
    indexBytes: sum((u) => u.indexBytes),
    otherBytes: sum((u) => u.otherBytes),
    hardLinkedBytes,
    directoriesRescanned: input.scans.reduce((a, s) => a + (s.scan?.rescanned ?? 0), 0),
  };

  for (const b of walk.buckets) {
    if (b.entries < t.dirEntriesWarn) continue;
    const critical = b.entries >= t.dirEntriesCrit;
    const at = path.join(root, b.rel);
    hot.push({ kind: "large-directory", severity: critical ? "critical" : "warning", path: at, value: b.entries, threshold: critical ? t.dirEntriesCrit : t.dirEntriesWarn, message: `bucket ${at} holds ${b.entries} entries: a wider fan-out spreads them` });
  }
  if (fsInfo.inodesPct !== null && fsInfo.inodesPct >= t.inodeWarnPct) {
    const critical = fsInfo.inodesPct >= t.inodeCritPct;
    hot.push({ kind: "inode-pressure", severity: critical ? "critical" : "warning", path: root, value: fsInfo.inodesPct, threshold: critical ? t.inodeCritPct : t.inodeWarnPct, message: `the filesystem holding ${root} uses ${fsInfo.inodesPct}% of its inodes (${fsInfo.inodesUsed} of ${fsInfo.inodesTotal})` });
  }
  if (fsInfo.bytesPct >= t.diskWarnPct) {
    const critical = fsInfo.bytesPct >= t.diskCritPct;
    hot.push({ kind: "disk-pressure", severity: critical ? "critical" : "warning", path: root, value: fsInfo.bytesPct, threshold: critical ? t.diskCritPct : t.diskWarnPct, message: `the filesystem holding ${root} is ${fsInfo.bytesPct}% full (${gb(fsInfo.bytesUsed)} of ${gb(fsInfo.bytesUsed + fsInfo.bytesAvailable)})` });
  }
  const buckets = bucketLevels(input.fanout, walk);
  for (const b of buckets) {
    if (b.meanUsers >= 5 && b.maxUsers > 4 * b.meanUsers) {
      hot.push({ kind: "bucket-imbalance", severity: "warning", path: path.join(root, b.fullest), value: b.maxUsers, threshold: Math.ceil(4 * b.meanUsers), message: `bucket ${b.fullest} at level ${b.level} holds ${b.maxUsers} users against ${b.meanUsers} on average: homes not placed by the MD5 of their names?` });
    }
  }
  const mboxes = input.mboxes
    .map((m) => ({ ...m, scanSeconds: Math.round((m.bytes / t.mboxScanBytesPerSecond) * 10) / 10 }))
    .sort((a, b) => b.bytes - a.bytes);
  for (const m of mboxes) {
    if (m.bytes < t.mboxWarnBytes) continue;
    const critical = m.bytes >= t.mboxCritBytes;
    hot.push({ kind: "large-mbox", severity: critical ? "critical" : "warning", path: m.path, value: m.bytes, threshold: critical ? t.mboxCritBytes : t.mboxWarnBytes, message: `${m.path} is ${gb(m.bytes)}: each linear scan costs about ${m.scanSeconds} s; mailstore migrate moves it to Maildir` });
  }
  for (const s of walk.symlinks) hot.push({ kind: "symlink", severity: "warning", path: s.path, value: 1, threshold: 0, message: `symlink ${s.path} -> ${s.target} (not followed)` });
  for (const e of walk.errors) hot.push({ kind: "unreadable", severity: "warning", path: e.split(": ")[0], value: 1, threshold: 0, message: e });
  for (const m of walk.mounts) hot.push({ kind: "unreadable", severity: "warning", path: m, value: 1, threshold: 0, message: `${m} is on another filesystem and was not entered (--cross-filesystems enters it)` });

  hot.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.value / Math.max(b.threshold, 1) - a.value / Math.max(a.threshold, 1) || a.path.localeCompare(b.path));
  return {
    root,
    generatedAt: new Date(input.now).toISOString(),
    scanSeconds: input.scanSeconds,
    layout: { fanout: input.fanout },
    totals,
    filesystem: fsInfo,
    users,
    hotspots: hot,
    buckets,
    mboxes,
    symlinks: walk.symlinks,
    strays: walk.strays,
    mounts: walk.mounts,
    errors: walk.errors,
  };
}

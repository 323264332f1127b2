import path from "node:path";
import type { BucketLevel, Hotspot, Report, Severity, UserReport } from "./analyze.js";
import { formatBytes } from "../util/units.js";
import type { Thresholds } from "./thresholds.js";
import type { BucketDir } from "../maildir/tree-walk.js";

/**
 * Everything a report is computed from once the homes are analyzed. A shard's report carries
 * all of it, so `report --merge` rebuilds exactly what one run over the whole tree gives.
 */
export interface ReportParts extends Pick<Report, "root" | "generatedAt" | "scanSeconds" | "layout" | "shard" | "users" | "filesystem" | "symlinks" | "strays" | "mounts" | "errors" | "bucketDirs" | "hardLinks"> {
  /** Hot spots of one user (they carry `user`); the others are derived here. */
  userHotspots: Hotspot[];
  mboxes: { path: string; bytes: number }[];
  directoriesRescanned: number;
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1 };

function bucketLevels(fanout: number[], users: UserReport[], root: string, dirs: BucketDir[]): BucketLevel[] {
  return fanout.map((width, i) => {
    const counts = new Map<string, number>();
    for (const u of users) {
      if (!u.hashed) continue;
      const key = path.relative(root, u.path).split(path.sep).slice(0, i + 1).join("/");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const b of dirs) if (b.level === i + 1 && !counts.has(b.rel)) counts.set(b.rel, 0);
    const values = [...counts.values()];
    let fullest = "";
    let max = 0;
    for (const [k, v] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) if (v > max) [fullest, max] = [k, v];
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

/** Totals, tree-wide hot spots and the order of everything: the same for one run and for merged shards. */
export function summarize(parts: ReportParts, t: Thresholds): Report {
  const { root, filesystem: fsInfo } = parts;
  const users = [...parts.users].sort((a, b) => b.bytes - a.bytes || a.user.localeCompare(b.user) || a.path.localeCompare(b.path));
  const hot = [...parts.userHotspots];

  // Hard links: each user keeps its own link for quota; the totals count an inode once.
  const seen = new Set<number>();
  let hardLinkedBytes = 0;
  let hardLinkedDisk = 0;
  let extraInodes = 0;
  for (const [ino, size, disk, message] of parts.hardLinks) {
    if (!seen.has(ino)) {
      seen.add(ino);
      continue;
    }
    if (message) hardLinkedBytes += size;
    hardLinkedDisk += disk;
    extraInodes++;
  }
  const sum = (f: (u: UserReport) => number) => users.reduce((a, u) => a + f(u), 0);
  const totals = {
    users: users.length,
    messages: sum((u) => u.messages),
    bytes: sum((u) => u.bytes) - hardLinkedBytes,
    inodes: sum((u) => u.inodes) - extraInodes + parts.bucketDirs.length,
    diskBytes: sum((u) => u.diskBytes) - hardLinkedDisk,
    indexBytes: sum((u) => u.indexBytes),
    otherBytes: sum((u) => u.otherBytes),
    hardLinkedBytes,
    directoriesRescanned: parts.directoriesRescanned,
  };

  for (const b of parts.bucketDirs) {
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
    hot.push({ kind: "disk-pressure", severity: critical ? "critical" : "warning", path: root, value: fsInfo.bytesPct, threshold: critical ? t.diskCritPct : t.diskWarnPct, message: `the filesystem holding ${root} is ${fsInfo.bytesPct}% full (${formatBytes(fsInfo.bytesUsed)} of ${formatBytes(fsInfo.bytesUsed + fsInfo.bytesAvailable)})` });
  }
  const buckets = bucketLevels(parts.layout.fanout, users, root, parts.bucketDirs);
  for (const b of buckets) {
    if (b.meanUsers >= 5 && b.maxUsers > 4 * b.meanUsers) {
      hot.push({ kind: "bucket-imbalance", severity: "warning", path: path.join(root, b.fullest), value: b.maxUsers, threshold: Math.ceil(4 * b.meanUsers), message: `bucket ${b.fullest} at level ${b.level} holds ${b.maxUsers} users against ${b.meanUsers} on average: homes not placed by the MD5 of their names?` });
    }
  }
  const mboxes = parts.mboxes
    .map((m) => ({ path: m.path, bytes: m.bytes, scanSeconds: Math.round((m.bytes / t.mboxScanBytesPerSecond) * 10) / 10 }))
    .sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path));
  for (const m of mboxes) {
    if (m.bytes < t.mboxWarnBytes) continue;
    const critical = m.bytes >= t.mboxCritBytes;
    hot.push({ kind: "large-mbox", severity: critical ? "critical" : "warning", path: m.path, value: m.bytes, threshold: critical ? t.mboxCritBytes : t.mboxWarnBytes, message: `${m.path} is ${formatBytes(m.bytes)}: each linear scan costs about ${m.scanSeconds} s; mailstore migrate moves it to Maildir` });
  }
  for (const s of parts.symlinks) hot.push({ kind: "symlink", severity: "warning", path: s.path, value: 1, threshold: 0, message: `symlink ${s.path} -> ${s.target} (not followed)` });
  for (const e of parts.errors) hot.push({ kind: "unreadable", severity: "warning", path: e.split(": ")[0], value: 1, threshold: 0, message: e });
  for (const m of parts.mounts) hot.push({ kind: "unreadable", severity: "warning", path: m, value: 1, threshold: 0, message: `${m} is on another filesystem and was not entered (--cross-filesystems enters it)` });

  hot.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.value / Math.max(b.threshold, 1) - a.value / Math.max(a.threshold, 1) || a.path.localeCompare(b.path) || a.kind.localeCompare(b.kind));
  const sorted = <T>(list: T[], key: (x: T) => string) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
  return {
    root,
    generatedAt: parts.generatedAt,
    scanSeconds: parts.scanSeconds,
    layout: parts.layout,
    ...(parts.shard ? { shard: parts.shard } : {}),
    totals,
    filesystem: fsInfo,
    users,
    hotspots: hot,
    buckets,
    mboxes,
    symlinks: sorted(parts.symlinks, (s) => s.path),
    strays: sorted(parts.strays, (s) => s),
    mounts: sorted(parts.mounts, (s) => s),
    errors: sorted(parts.errors, (s) => s),
    bucketDirs: sorted(parts.bucketDirs, (b) => b.rel),
    hardLinks: [...parts.hardLinks].sort((a, b) => a[0] - b[0] || a[1] - b[1]),
  };
}

const unique = <T>(lists: T[][], key: (x: T) => string): T[] => {
  const out = new Map<string, T>();
  for (const list of lists) for (const x of list) if (!out.has(key(x))) out.set(key(x), x);
  return [...out.values()];
};

export class MergeError extends Error {}

/**
 * Combines the JSON reports of the shards of one job into the report a single run would
 * have made: users and their hot spots side by side, everything the shards both saw (the
 * filesystem, buckets on a shard boundary, the root's strays) once, totals and tree-wide hot
 * spots computed afresh.
 */
export function mergeReports(reports: Report[], t: Thresholds): Report {
  if (reports.length === 0) throw new MergeError("nothing to merge");
  const root = reports[0].root;
  for (const r of reports) {
    if (r.root !== root) throw new MergeError(`reports of different roots: ${root} and ${r.root}`);
    if (!Array.isArray(r.bucketDirs) || !Array.isArray(r.hardLinks)) throw new MergeError("a report without bucketDirs/hardLinks: made by an older mailstore? Run the shards again");
  }
  const shards = reports.map((r) => r.shard ?? "all");
  const counts = new Set(shards.map((s) => s.split("/")[1]));
  if (counts.size > 1) throw new MergeError(`shards of different splits: ${shards.join(", ")}`);
  const dupShard = shards.find((s, i) => s !== "all" && shards.indexOf(s) !== i);
  if (dupShard) throw new MergeError(`shard ${dupShard} given twice`);
  const homes = new Set<string>();
  for (const r of reports) {
    for (const u of r.users) {
      if (homes.has(u.path)) throw new MergeError(`${u.path} is in two of the reports: they overlap`);
      homes.add(u.path);
    }
  }
  const latest = reports.map((r) => r.generatedAt).sort().at(-1) as string;
  return summarize(
    {
      root,
      generatedAt: latest,
      scanSeconds: Math.max(...reports.map((r) => r.scanSeconds)),
      layout: reports[0].layout,
      users: reports.flatMap((r) => r.users),
      userHotspots: reports.flatMap((r) => r.hotspots.filter((h) => h.user !== undefined)),
      filesystem: reports.find((r) => r.generatedAt === latest)?.filesystem ?? reports[0].filesystem,
      mboxes: unique(reports.map((r) => r.mboxes), (m) => m.path),
      symlinks: unique(reports.map((r) => r.symlinks), (s) => s.path),
      strays: unique(reports.map((r) => r.strays), (s) => s),
      mounts: unique(reports.map((r) => r.mounts), (s) => s),
      errors: unique(reports.map((r) => r.errors), (s) => s),
      bucketDirs: unique(reports.map((r) => r.bucketDirs), (b) => b.rel),
      // Links of one inode seen by two shards are two links; seen twice by one walk they would be in one list.
      hardLinks: reports.flatMap((r) => r.hardLinks),
      directoriesRescanned: reports.reduce((a, r) => a + r.totals.directoriesRescanned, 0),
    },
    t,
  );
}

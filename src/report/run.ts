import fs from "node:fs";
import path from "node:path";
import { type Fanout, formatFanout } from "../maildir/layout.js";
import { formatShard, type Shard } from "../maildir/shard.js";
import { analyze, type FilesystemInfo, type Report } from "./analyze.js";
import { openScanCache, REPORT_CACHE_FILE, type ScanCache } from "./cache.js";
import type { QuotaLimit } from "./quota.js";
import { scanHomes, type ScanResult } from "./scan.js";
import { unchangedScan } from "./scan-user.js";
import type { Thresholds } from "./thresholds.js";
import { walkTree } from "../maildir/tree-walk.js";

export interface ReportOptions {
  root: string;
  fanout: Fanout;
  jobs: number;
  thresholds: Thresholds;
  crossFilesystems: boolean;
  /** The scan cache's path; null for none. */
  cacheFile: string | null;
  quotaFile?: Map<string, QuotaLimit>;
  defaultQuota?: QuotaLimit;
  mboxes: string[];
  shard?: Shard;
  now?: number;
  onProgress?: (done: number, total: number) => void;
  /** Problems that are not the report's subject (a cache that cannot be written): warnings for stderr. */
  onWarning?: (message: string) => void;
}

export function filesystemInfo(root: string): FilesystemInfo {
  const s = fs.statfsSync(root);
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  const inodesUsed = s.files - s.ffree;
  return {
    type: s.type,
    bytesTotal: s.blocks * s.bsize,
    bytesUsed: used,
    bytesAvailable: available,
    bytesPct: used + available > 0 ? Math.round((used / (used + available)) * 1000) / 10 : 0,
    inodesTotal: s.files,
    inodesUsed,
    inodesPct: s.files > 0 ? Math.round((inodesUsed / s.files) * 1000) / 10 : null,
  };
}

function openCache(opts: ReportOptions): ScanCache | undefined {
  if (opts.cacheFile === null) return undefined;
  try {
    return openScanCache(opts.cacheFile, `${formatFanout(opts.fanout)}:${opts.crossFilesystems}:${formatShard(opts.shard) ?? "all"}`);
  } catch (err) {
    opts.onWarning?.(`scan cache ${opts.cacheFile} not used: ${(err as Error).message}`);
    return undefined;
  }
}

/** Walks the tree, scans every home (from the cache where unchanged), and analyzes. Read-only in the mail homes. */
export async function runReport(opts: ReportOptions): Promise<Report> {
  const started = Date.now();
  const now = opts.now ?? started;
  const walk = walkTree(opts.root, opts.fanout, { crossFilesystems: opts.crossFilesystems, shard: opts.shard });
  const cache = openCache(opts);
  let done = 0;
  const scanOpts = { rootDev: walk.rootDev, crossFilesystems: opts.crossFilesystems, startedMs: started };
  let scans: ScanResult[];
  try {
    // Unchanged homes are answered here from the cache; only the rest go to the scanner processes.
    scans = new Array(walk.users.length);
    const toScan: number[] = [];
    walk.users.forEach((loc, i) => {
      const cached = cache?.get(loc.rel);
      const scan = cached && unchangedScan(path.join(opts.root, loc.rel), loc.user, loc.rel, cached, scanOpts);
      if (scan) {
        scans[i] = { location: loc, scan };
        opts.onProgress?.(++done, walk.users.length);
      } else toScan.push(i);
    });
    const scanned = await scanHomes(opts.root, toScan.map((i) => walk.users[i]), (rel) => cache?.get(rel), scanOpts, opts.jobs, () => opts.onProgress?.(++done, walk.users.length));
    toScan.forEach((at, i) => (scans[at] = scanned[i]));
    if (cache) {
      try {
        cache.save(scans.filter((s) => s.scan).map((s) => ({ rel: s.location.rel, user: s.location.user, dirs: s.scan?.dirs ?? [], changed: (s.scan?.rescanned ?? 0) > 0 })));
      } catch (err) {
        opts.onWarning?.(`scan cache ${opts.cacheFile} not saved: ${(err as Error).message}`);
      }
    }
  } finally {
    cache?.close();
  }
  const mboxes = opts.mboxes.map((p) => ({ path: p, bytes: fs.statSync(p).size }));
  return analyze({
    root: opts.root,
    fanout: opts.fanout,
    walk,
    scans,
    filesystem: filesystemInfo(opts.root),
    quotaFile: opts.quotaFile,
    defaultQuota: opts.defaultQuota,
    mboxes,
    thresholds: opts.thresholds,
    now,
    scanSeconds: (Date.now() - started) / 1000,
    shard: formatShard(opts.shard),
  });
}

/** One cache per shard: a cache forgets the homes it did not see, and a shard sees only its own. */
export const defaultCacheFile = (root: string, shard?: Shard) =>
  path.join(root, shard ? REPORT_CACHE_FILE.replace(/\.sqlite$/, `-${shard.index}-of-${shard.count}.sqlite`) : REPORT_CACHE_FILE);

import Database from "better-sqlite3";
import { assertPlainDbFiles } from "../maildir/dirs.js";
import type { Report } from "./analyze.js";
import type { Thresholds } from "./thresholds.js";

/**
 * The report's history: one snapshot per run (per-user bytes, inodes, messages and the
 * filesystem's use) in a SQLite file the admin names with --history. Growth and projections
 * are read from it. Schema: docs/report.md.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    taken_at INTEGER NOT NULL,
    root TEXT NOT NULL,
    users INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    inodes INTEGER NOT NULL,
    fs_bytes_used INTEGER NOT NULL,
    fs_bytes_size INTEGER NOT NULL,
    fs_inodes_used INTEGER NOT NULL,
    fs_inodes_total INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS snapshots_root ON snapshots (root, taken_at);
  CREATE TABLE IF NOT EXISTS snapshot_users (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    inodes INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, user)
  );
`;

const DAY = 86_400_000;
export const HISTORY_SCHEMA_VERSION = 1;
export const GROWTH_WINDOWS = [1, 7, 30];

export interface Grower {
  user: string;
  bytes: number;
  bytesDelta: number;
  messagesDelta: number;
  inodesDelta: number;
}

export interface Growth {
  snapshots: number;
  windows: { days: number; since: string; topGrowers: Grower[] }[];
  /** Users whose trend reaches their byte quota, soonest first. */
  quotaProjections: { user: string; bytes: number; quotaBytes: number; bytesPerDay: number; days: number; date: string }[];
  filesystem: { bytesPerDay: number | null; inodesPerDay: number | null; crossings: { what: string; pct: number; days: number; date: string }[] };
}

interface Snapshot {
  id: number;
  taken_at: number;
  fs_bytes_used: number;
  fs_bytes_size: number;
  fs_inodes_used: number;
  fs_inodes_total: number;
}

/** Least-squares slope of y over x (per ms); null with fewer than two distinct times. */
function slope(points: [number, number][]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

export class History {
  private db: Database.Database;

  constructor(file: string) {
    assertPlainDbFiles(file);
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 10000");
    this.db.pragma("foreign_keys = ON");
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > HISTORY_SCHEMA_VERSION) throw new Error(`${file}: history schema version ${version} is newer than this mailstore's (${HISTORY_SCHEMA_VERSION})`);
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${HISTORY_SCHEMA_VERSION}`);
  }

  record(report: Report, takenAt: number): void {
    const f = report.filesystem;
    const insertUser = this.db.prepare("INSERT INTO snapshot_users (snapshot_id, user, bytes, inodes, messages) VALUES (?, ?, ?, ?, ?)");
    this.db.transaction(() => {
      const id = this.db
        .prepare("INSERT INTO snapshots (taken_at, root, users, messages, bytes, inodes, fs_bytes_used, fs_bytes_size, fs_inodes_used, fs_inodes_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .run(takenAt, report.root, report.totals.users, report.totals.messages, report.totals.bytes, report.totals.inodes, f.bytesUsed, f.bytesUsed + f.bytesAvailable, f.inodesUsed, f.inodesTotal).lastInsertRowid;
      for (const u of report.users) insertUser.run(id, u.user, u.bytes, u.inodes, u.messages);
    })();
  }

  /** Growth against the snapshots taken before `now`: top growers per window, quota and filesystem projections. */
  growth(report: Report, now: number, thresholds: Thresholds, top: number): Growth {
    const snaps = this.db.prepare("SELECT id, taken_at, fs_bytes_used, fs_bytes_size, fs_inodes_used, fs_inodes_total FROM snapshots WHERE root = ? AND taken_at < ? ORDER BY taken_at").all(report.root, now) as Snapshot[];
    const usersOf = this.db.prepare("SELECT user, bytes, inodes, messages FROM snapshot_users WHERE snapshot_id = ?");
    const current = new Map(report.users.map((u) => [u.user, u]));
    const windows: Growth["windows"] = [];
    for (const days of GROWTH_WINDOWS) {
      // The latest snapshot at least 90 % of the window old: a nightly run at 02:05 still compares with 02:00.
      const base = [...snaps].reverse().find((s) => s.taken_at <= now - days * DAY * 0.9);
      if (!base) continue;
      const before = new Map((usersOf.all(base.id) as { user: string; bytes: number; inodes: number; messages: number }[]).map((r) => [r.user, r]));
      const growers = [...current.values()]
        .map((u) => {
          const b = before.get(u.user);
          return { user: u.user, bytes: u.bytes, bytesDelta: u.bytes - (b?.bytes ?? 0), messagesDelta: u.messages - (b?.messages ?? 0), inodesDelta: u.inodes - (b?.inodes ?? 0) };
        })
        .filter((g) => g.bytesDelta > 0)
        .sort((a, b) => b.bytesDelta - a.bytesDelta)
        .slice(0, top);
      windows.push({ days, since: new Date(base.taken_at).toISOString(), topGrowers: growers });
    }

    // Trends over the last 30 days, this run included.
    const recent = snaps.filter((s) => s.taken_at >= now - 30 * DAY);
    const quotaProjections: Growth["quotaProjections"] = [];
    const byUser = new Map<string, [number, number][]>();
    for (const s of recent) {
      for (const r of usersOf.all(s.id) as { user: string; bytes: number }[]) {
        if (!current.get(r.user)?.quotaBytes) continue;
        const list = byUser.get(r.user) ?? [];
        list.push([s.taken_at, r.bytes]);
        byUser.set(r.user, list);
      }
    }
    for (const [user, points] of byUser) {
      const u = current.get(user);
      if (!u?.quotaBytes || u.bytes >= u.quotaBytes) continue;
      const perMs = slope([...points, [now, u.bytes]]);
      if (perMs === null || perMs <= 0) continue;
      const days = (u.quotaBytes - u.bytes) / perMs / DAY;
      quotaProjections.push({ user, bytes: u.bytes, quotaBytes: u.quotaBytes, bytesPerDay: Math.round(perMs * DAY), days: Math.round(days * 10) / 10, date: new Date(now + days * DAY).toISOString().slice(0, 10) });
    }
    quotaProjections.sort((a, b) => a.days - b.days);

    const f = report.filesystem;
    const bytesSlope = slope([...recent.map((s): [number, number] => [s.taken_at, s.fs_bytes_used]), [now, f.bytesUsed]]);
    const inodesSlope = slope([...recent.map((s): [number, number] => [s.taken_at, s.fs_inodes_used]), [now, f.inodesUsed]]);
    const crossings: Growth["filesystem"]["crossings"] = [];
    const cross = (what: string, pct: number, used: number, size: number, perMs: number | null) => {
      const at = (size * pct) / 100;
      if (perMs === null || perMs <= 0 || size <= 0 || used >= at) return;
      const days = (at - used) / perMs / DAY;
      crossings.push({ what, pct, days: Math.round(days * 10) / 10, date: new Date(now + days * DAY).toISOString().slice(0, 10) });
    };
    const size = f.bytesUsed + f.bytesAvailable;
    cross("disk", thresholds.diskWarnPct, f.bytesUsed, size, bytesSlope);
    cross("disk", thresholds.diskCritPct, f.bytesUsed, size, bytesSlope);
    cross("inodes", thresholds.inodeWarnPct, f.inodesUsed, f.inodesTotal, inodesSlope);
    cross("inodes", thresholds.inodeCritPct, f.inodesUsed, f.inodesTotal, inodesSlope);
    return {
      snapshots: snaps.length,
      windows,
      quotaProjections: quotaProjections.slice(0, top),
      filesystem: { bytesPerDay: bytesSlope === null ? null : Math.round(bytesSlope * DAY), inodesPerDay: inodesSlope === null ? null : Math.round(inodesSlope * DAY), crossings },
    };
  }

  close(): void {
    this.db.close();
  }
}

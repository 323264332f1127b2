import type { Report } from "../analyze.js";
import { formatBytes } from "../../util/units.js";

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The terminal report: totals, hot spots worst first, the largest users. */
export function renderTable(report: Report, top: number): string {
  const t = report.totals;
  const f = report.filesystem;
  const out: string[] = [];
  out.push(`mailstore report of ${report.root}${report.shard ? ` (shard ${report.shard})` : ""} at ${report.generatedAt} (scan ${report.scanSeconds.toFixed(1)} s, ${t.directoriesRescanned} directories read)`);
  out.push(`${t.users} users, ${t.messages} messages, ${formatBytes(t.bytes)} of mail, ${formatBytes(t.indexBytes)} of index files, ${t.inodes} inodes${t.hardLinkedBytes ? ` (${formatBytes(t.hardLinkedBytes)} of hard links counted once)` : ""}`);
  out.push(`filesystem: ${formatBytes(f.bytesUsed)} of ${formatBytes(f.bytesUsed + f.bytesAvailable)} used (${f.bytesPct}%), inodes ${f.inodesUsed} of ${f.inodesTotal} (${f.inodesPct ?? "n/a"}%)`);
  out.push("");
  const critical = report.hotspots.filter((h) => h.severity === "critical").length;
  out.push(`hot spots: ${report.hotspots.length} (${critical} critical)`);
  if (report.hotspots.length > 0) {
    const shown = report.hotspots.slice(0, top);
    out.push(table(["severity", "kind", "user", "value", "threshold", "what"], shown.map((h) => [h.severity, h.kind, h.user ?? "", String(h.value), String(h.threshold), h.message]), new Set([3, 4])));
    if (report.hotspots.length > shown.length) out.push(`... ${report.hotspots.length - shown.length} more (--top, or --json for all)`);
  }
  out.push("");
  out.push(`largest users (${Math.min(top, report.users.length)} of ${report.users.length}):`);
  out.push(
    table(
      ["user", "messages", "mail", "index", "inodes", "folders", "largest dir", "new/", "quota", "used"],
      report.users.slice(0, top).map((u) => [
        u.user + (u.hashed ? "" : " (unhashed)"),
        String(u.messages),
        formatBytes(u.bytes),
        formatBytes(u.indexBytes),
        String(u.inodes),
        String(u.folders),
        String(u.largestDir.entries),
        String(u.newMessages),
        u.quotaBytes !== null ? formatBytes(u.quotaBytes) : u.quotaMessages !== null ? `${u.quotaMessages} msgs` : "-",
        u.quotaPct !== null ? `${u.quotaPct}%` : "-",
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ),
  );
  if (report.buckets.length > 0) {
    out.push("");
    out.push("bucket balance (users per bucket):");
    out.push(table(["level", "width", "used", "of", "min", "mean", "max", "fullest"], report.buckets.map((b) => [String(b.level), String(b.width), String(b.used), String(b.possible), String(b.minUsers), String(b.meanUsers), String(b.maxUsers), b.fullest]), new Set([0, 1, 2, 3, 4, 5, 6])));
  }
  if (report.mboxes.length > 0) {
    out.push("");
    out.push("mbox files still to migrate, largest first:");
    out.push(table(["mbox", "size", "scan"], report.mboxes.slice(0, top).map((m) => [m.path, formatBytes(m.bytes), `${m.scanSeconds} s`]), new Set([1, 2])));
  }
  if (report.growth) {
    out.push("");
    out.push(renderGrowth(report, top));
  }
  return `${out.join("\n")}\n`;
}

function renderGrowth(report: Report, top: number): string {
  const g = report.growth;
  if (!g) return "";
  const out = [`growth (${g.snapshots} earlier snapshot(s)):`];
  if (g.windows.length === 0) out.push("  no snapshot old enough yet: growth shows from the second day of --history");
  for (const w of g.windows) {
    out.push(`top growers over ${w.days} day(s), since ${w.since}:`);
    if (w.topGrowers.length === 0) out.push("  none grew");
    else out.push(table(["user", "now", "grew", "messages", "inodes"], w.topGrowers.slice(0, top).map((u) => [u.user, formatBytes(u.bytes), `+${formatBytes(u.bytesDelta)}`, `+${u.messagesDelta}`, `+${u.inodesDelta}`]), new Set([1, 2, 3, 4])));
  }
  if (g.quotaProjections.length > 0) {
    out.push("quota reached at the present trend:");
    out.push(table(["user", "now", "quota", "per day", "in days", "on"], g.quotaProjections.slice(0, top).map((p) => [p.user, formatBytes(p.bytes), formatBytes(p.quotaBytes), formatBytes(p.bytesPerDay), String(p.days), p.date]), new Set([1, 2, 3, 4])));
  }
  for (const c of g.filesystem.crossings) out.push(`filesystem ${c.what} use crosses ${c.pct}% in ${c.days} days (${c.date}) at the present trend`);
  return out.join("\n");
}

import type { Report } from "../analyze.js";
import { formatBytes } from "../../util/units.js";

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Bar {
  label: string;
  value: number;
  text: string;
  tone?: "warn" | "crit";
}

/** A horizontal bar chart as inline SVG: no script, no fonts, nothing fetched. */
function barChart(title: string, bars: Bar[]): string {
  if (bars.length === 0) return `<figure><figcaption>${esc(title)}</figcaption><p class="none">nothing to show</p></figure>`;
  const rowH = 22;
  const labelW = 200;
  const barW = 420;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const rows = bars
    .map((b, i) => {
      const y = i * rowH;
      const w = Math.max(1, Math.round((b.value / max) * barW));
      const fill = b.tone === "crit" ? "#c0392b" : b.tone === "warn" ? "#e67e22" : "#2e86c1";
      return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(b.label.length > 28 ? `${b.label.slice(0, 27)}…` : b.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="${fill}"><title>${esc(`${b.label}: ${b.text}`)}</title></rect><text x="${labelW + w + 6}" y="${y + 15}">${esc(b.text)}</text>`;
    })
    .join("");
  const height = bars.length * rowH;
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${labelW + barW + 120}" height="${height}" viewBox="0 0 ${labelW + barW + 120} ${height}" font-family="sans-serif" font-size="12">${rows}</svg></figure>`;
}

/** Users per bucket: how many buckets hold 0, 1, 2 ... users (a hash spreads them as a narrow hump). */
function histogram(title: string, counts: number[]): string {
  const w = 640;
  const h = 160;
  const max = Math.max(...counts, 1);
  const step = w / Math.max(counts.length, 1);
  const bars = counts
    .map((c, i) => `<rect x="${(i * step).toFixed(1)}" y="${(h - (c / max) * (h - 20)).toFixed(1)}" width="${Math.max(step - 1, 1).toFixed(1)}" height="${((c / max) * (h - 20)).toFixed(1)}" fill="#2e86c1"><title>${c} bucket(s) with ${i} user(s)</title></rect>`)
    .join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${w}" height="${h + 20}" viewBox="0 0 ${w} ${h + 20}" font-family="sans-serif" font-size="11">${bars}<text x="0" y="${h + 15}">0 users</text><text x="${w}" y="${h + 15}" text-anchor="end">${counts.length - 1} users per bucket</text></svg></figure>`;
}

function tableHtml(header: string[], rows: unknown[][], numeric: Set<number>): string {
  const th = header.map((h, i) => `<th${numeric.has(i) ? ' class="n"' : ""}>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const quotaText = (u: Report["users"][number]) => (u.quotaBytes !== null ? formatBytes(u.quotaBytes) : u.quotaMessages !== null ? `${u.quotaMessages} msgs` : "-");

/** One self-contained page: tables and inline SVG charts, readable offline and in a mail attachment. */
export function renderHtml(report: Report, top: number): string {
  const t = report.totals;
  const f = report.filesystem;
  const critical = report.hotspots.filter((h) => h.severity === "critical").length;
  const parts: string[] = [];
  parts.push(`<h1>mailstore report: ${esc(report.root)}</h1>`);
  parts.push(`<p class="meta">Generated ${esc(report.generatedAt)} in ${report.scanSeconds.toFixed(1)} s.</p>`);
  parts.push(`<section class="cards">
<div><b>${t.users}</b> users</div><div><b>${t.messages}</b> messages</div><div><b>${esc(formatBytes(t.bytes))}</b> of mail</div><div><b>${t.inodes}</b> inodes</div>
<div><b>${f.bytesPct}%</b> disk used</div><div><b>${f.inodesPct ?? "n/a"}%</b> inodes used</div><div class="${critical ? "crit" : report.hotspots.length ? "warn" : ""}"><b>${report.hotspots.length}</b> hot spots (${critical} critical)</div></section>`);
  parts.push(`<h2>Hot spots</h2>`);
  parts.push(report.hotspots.length === 0 ? `<p class="none">none</p>` : tableHtml(["severity", "kind", "user", "value", "threshold", "what"], report.hotspots.slice(0, top * 5).map((h) => [h.severity, h.kind, h.user ?? "", h.value, h.threshold, h.message]), new Set([3, 4])));
  const users = report.users.slice(0, top);
  parts.push(`<h2>Users</h2>`);
  parts.push(barChart(`Largest users by mail bytes (top ${users.length})`, users.map((u) => ({ label: u.user, value: u.bytes, text: formatBytes(u.bytes), tone: u.quotaPct !== null && u.quotaPct >= 100 ? "crit" : u.quotaPct !== null && u.quotaPct >= 90 ? "warn" : undefined }))));
  const dirs = [...report.users].sort((a, b) => b.largestDir.entries - a.largestDir.entries).slice(0, top);
  parts.push(barChart(`Largest directories by entries (top ${dirs.length})`, dirs.map((u) => ({ label: `${u.user} ${u.largestDir.path.slice(u.path.length) || "/"}`, value: u.largestDir.entries, text: String(u.largestDir.entries) }))));
  parts.push(tableHtml(["user", "messages", "mail", "index", "inodes", "folders", "largest dir", "new/", "quota", "used"], users.map((u) => [u.user + (u.hashed ? "" : " (unhashed)"), u.messages, formatBytes(u.bytes), formatBytes(u.indexBytes), u.inodes, u.folders, u.largestDir.entries, u.newMessages, quotaText(u), u.quotaPct === null ? "-" : `${u.quotaPct}%`]), new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])));
  if (report.buckets.length > 0) {
    parts.push(`<h2>Bucket balance</h2>`);
    for (const b of report.buckets) parts.push(histogram(`Level ${b.level} (${b.width} hex characters): ${b.used} of ${b.possible} buckets used, ${b.minUsers}-${b.maxUsers} users each, mean ${b.meanUsers}`, b.histogram));
  }
  const g = report.growth;
  if (g) {
    parts.push(`<h2>Growth</h2>`);
    if (g.windows.length === 0) parts.push(`<p class="none">No snapshot old enough yet (${g.snapshots} recorded).</p>`);
    for (const w of g.windows) parts.push(barChart(`Top growers over ${w.days} day(s), since ${w.since}`, w.topGrowers.slice(0, top).map((u) => ({ label: u.user, value: u.bytesDelta, text: `+${formatBytes(u.bytesDelta)}` }))));
    if (g.quotaProjections.length > 0) parts.push(tableHtml(["user", "now", "quota", "per day", "in days", "on"], g.quotaProjections.map((p) => [p.user, formatBytes(p.bytes), formatBytes(p.quotaBytes), formatBytes(p.bytesPerDay), p.days, p.date]), new Set([1, 2, 3, 4])));
    for (const c of g.filesystem.crossings) parts.push(`<p>Filesystem ${esc(c.what)} use crosses ${c.pct}% in ${c.days} days (${esc(c.date)}) at the present trend.</p>`);
  }
  if (report.mboxes.length > 0) {
    parts.push(`<h2>mbox files still to migrate</h2>`);
    parts.push(tableHtml(["mbox", "size", "linear scan"], report.mboxes.slice(0, top).map((m) => [m.path, formatBytes(m.bytes), `${m.scanSeconds} s`]), new Set([1, 2])));
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailstore report: ${esc(report.root)}</title>
<style>
body{font:14px/1.4 sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
.meta{color:#666}.none{color:#666;font-style:italic}
.cards{display:flex;flex-wrap:wrap;gap:.6em}.cards div{border:1px solid #ccc;border-radius:4px;padding:.5em .8em}
.cards .warn{border-color:#e67e22}.cards .crit{border-color:#c0392b;color:#c0392b}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f4f4f4}.n{text-align:right;white-space:nowrap}
figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}
</style></head><body>
${parts.join("\n")}
</body></html>
`;
}

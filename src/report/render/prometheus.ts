import type { Report } from "../analyze.js";

/** Label values escaped as the text exposition format wants: backslash, quote, newline. */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** node_exporter textfile collector format: one gauge family per figure, users by label. */
export function renderPrometheus(report: Report): string {
  const out: string[] = [];
  const family = (name: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : "NaN"}`);
  };
  const root = `root="${label(report.root)}"`;
  const t = report.totals;
  const f = report.filesystem;
  family("mailstore_report_timestamp_seconds", "When the report was made.", [[`{${root}}`, Math.round(Date.parse(report.generatedAt) / 1000)]]);
  family("mailstore_report_scan_seconds", "How long the scan took.", [[`{${root}}`, report.scanSeconds]]);
  family("mailstore_users", "Users (Maildirs) in the tree.", [[`{${root}}`, t.users]]);
  family("mailstore_messages", "Message files in the tree.", [[`{${root}}`, t.messages]]);
  family("mailstore_mail_bytes", "Bytes of message files, hard links counted once.", [[`{${root}}`, t.bytes]]);
  family("mailstore_index_bytes", "Bytes of Dovecot and mailstore index files.", [[`{${root}}`, t.indexBytes]]);
  family("mailstore_inodes", "Files, directories and links in the tree.", [[`{${root}}`, t.inodes]]);
  family("mailstore_filesystem_bytes", "Bytes of the filesystem holding the tree, by state.", [[`{${root},state="used"}`, f.bytesUsed], [`{${root},state="available"}`, f.bytesAvailable]]);
  family("mailstore_filesystem_inodes", "Inodes of the filesystem holding the tree, by state.", [[`{${root},state="used"}`, f.inodesUsed], [`{${root},state="total"}`, f.inodesTotal]]);
  const counts = new Map<string, number>();
  for (const h of report.hotspots) counts.set(`${h.kind}\0${h.severity}`, (counts.get(`${h.kind}\0${h.severity}`) ?? 0) + 1);
  family("mailstore_hotspots", "Hot spots found, by kind and severity.", [...counts].map(([k, n]) => {
    const [kind, severity] = k.split("\0");
    return [`{${root},kind="${kind}",severity="${severity}"}`, n];
  }));
  const users = (name: string, help: string, value: (u: Report["users"][number]) => number | null) =>
    family(name, help, report.users.flatMap((u) => {
      const v = value(u);
      return v === null ? [] : [[`{${root},user="${label(u.user)}"}`, v] as [string, number]];
    }));
  users("mailstore_user_mail_bytes", "Bytes of a user's message files.", (u) => u.bytes);
  users("mailstore_user_messages", "A user's message files.", (u) => u.messages);
  users("mailstore_user_inodes", "A user's files, directories and links.", (u) => u.inodes);
  users("mailstore_user_quota_bytes", "A user's byte quota.", (u) => u.quotaBytes);
  users("mailstore_user_quota_ratio", "Share of the quota in use (1 = full).", (u) => (u.quotaPct === null ? null : u.quotaPct / 100));
  users("mailstore_user_new_messages", "Messages waiting in new/.", (u) => u.newMessages);
  return `${out.join("\n")}\n`;
}

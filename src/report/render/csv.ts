import type { Report, UserReport } from "../analyze.js";

const COLUMNS: (keyof UserReport)[] = [
  "user", "path", "hashed", "messages", "bytes", "indexBytes", "otherBytes", "diskBytes", "inodes", "files", "dirs", "folders",
  "newMessages", "newOldestDays", "staleTmpFiles", "quotaBytes", "quotaMessages", "quotaPct", "quotaSource", "maildirsizeBytes", "maildirsizeMessages",
];

/** RFC 4180: quoted where a comma, quote or line break would break the row. */
function cell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per user, largest first; the largest directory as two columns. */
export function renderCsv(report: Report): string {
  const header = [...COLUMNS, "largestDir", "largestDirEntries"];
  const rows = report.users.map((u) => [...COLUMNS.map((c) => u[c]), u.largestDir.path, u.largestDir.entries].map(cell).join(","));
  return `${[header.join(","), ...rows].join("\r\n")}\r\n`;
}

/** The first value of each wanted field, unfolded (a field's continuation lines joined). */
export function headerFields(header: string, wanted: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const lines = header.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0 || line[0] === " " || line[0] === "\t") continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!wanted.includes(name) || found.has(name)) continue;
    let value = line.slice(colon + 1);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1])) value += ` ${lines[++i].trim()}`;
    found.set(name, value.trim());
  }
  return found;
}

/** A Date: header value as ms since the epoch (comments such as "(JST)" ignored), or null. */
export function parseDateHeader(value: string | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value.replace(/\([^)]*\)/g, "").trim());
  return Number.isNaN(ms) ? null : ms;
}

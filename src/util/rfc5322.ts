/**
 * The first value of each wanted field, unfolded (a field's continuation lines joined).
 * Lines end at LF, with one CR before it dropped; the header ends at the first empty line.
 * Walks the text by offsets rather than splitting it: this runs for every message migrated
 * and indexed, and splitting costs twice as much.
 */
export function headerFields(header: string, wanted: string[]): Map<string, string> {
  const found = new Map<string, string>();
  // Most lines of a header block (Received, DKIM-Signature, X-*) are not wanted; a line whose
  // name is of no wanted length is passed over without slicing and lower-casing its name.
  let lengths = 0;
  for (const name of wanted) lengths |= 1 << Math.min(name.length, 31);
  const n = header.length;
  let pos = 0;
  while (pos < n) {
    const eol = lineEndAt(header, pos);
    const lineEnd = eol > pos && header.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    if (lineEnd === pos) break;
    const first = header.charCodeAt(pos);
    const colon = first === 32 || first === 9 ? -1 : header.indexOf(":", pos);
    let nameEnd = colon;
    while (nameEnd > pos && (header.charCodeAt(nameEnd - 1) === 32 || header.charCodeAt(nameEnd - 1) === 9)) nameEnd--;
    // A name that begins or ends with any other space (which trim() drops) is not filtered.
    const plain = first > 32 && first < 127 && header.charCodeAt(nameEnd - 1) > 32 && header.charCodeAt(nameEnd - 1) < 127;
    if (colon > pos && colon < lineEnd && (!plain || lengths & (1 << Math.min(nameEnd - pos, 31)))) {
      const name = header.slice(pos, nameEnd).trim().toLowerCase();
      if (wanted.includes(name) && !found.has(name)) {
        let value = header.slice(colon + 1, lineEnd);
        let next = eol + 1;
        while (next < n && (header.charCodeAt(next) === 32 || header.charCodeAt(next) === 9)) {
          const end = lineEndAt(header, next);
          value += ` ${header.slice(next, end > next && header.charCodeAt(end - 1) === 13 ? end - 1 : end).trim()}`;
          next = end + 1;
        }
        found.set(name, value.trim());
        pos = next;
        continue;
      }
    }
    pos = eol + 1;
  }
  return found;
}

function lineEndAt(text: string, from: number): number {
  const eol = text.indexOf("\n", from);
  return eol < 0 ? text.length : eol;
}

/** A Date: header value as ms since the epoch (comments such as "(JST)" ignored), or null. */
export function parseDateHeader(value: string | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse((value.includes("(") ? value.replace(/\([^)]*\)/g, "") : value).trim());
  return Number.isNaN(ms) ? null : ms;
}

import { nativeAddon } from "./native.js";

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

/**
 * Whether `line` begins with a field name and its colon, /^[\x21-\x39\x3b-\x7e]+[ \t]*:/,
 * checked on its bytes (or characters): a Buffer is not made a string first.
 */
export function startsWithField(line: Buffer | string): boolean {
  const n = line.length;
  const code = typeof line === "string" ? (i: number) => line.charCodeAt(i) : (i: number) => line[i];
  let i = 0;
  while (i < n && code(i) >= 0x21 && code(i) <= 0x7e && code(i) !== 0x3a) i++;
  if (i === 0) return false;
  while (i < n && (code(i) === 0x20 || code(i) === 0x09)) i++;
  return i < n && code(i) === 0x3a;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A header block's text: UTF-8 where the whole block is valid UTF-8, Latin-1 otherwise (never throws). */
export function headerText(block: Buffer): string {
  try {
    return utf8.decode(block);
  } catch {
    return block.toString("latin1");
  }
}

const spans = new Int32Array(64);
const joinedNames = new WeakMap<string[], string>();

/**
 * The values headerFields finds in a header block's bytes, read as headerText reads them
 * (`latin1`: always as Latin-1), in the order of `wanted` (undefined where absent): an array,
 * not a Map, as this runs for every message migrated and indexed. Native where the addon is
 * (native/header-fields.c finds the values' bytes and only those are decoded); the two give
 * the same values, a test holds them to it.
 */
export function headerValuesOf(block: Buffer, wanted: string[], opts: { latin1?: boolean } = {}): (string | undefined)[] {
  const addon = nativeAddon();
  if (!addon || wanted.length > spans.length / 2) {
    const found = headerFields(opts.latin1 ? block.toString("latin1") : headerText(block), wanted);
    return wanted.map((name) => found.get(name));
  }
  let names = joinedNames.get(wanted);
  if (names === undefined) joinedNames.set(wanted, (names = wanted.join(",")));
  const read = addon.headerFields(block, names, spans, opts.latin1 ? 0 : 1);
  // Only the values are decoded, each from its own bytes: as UTF-8 where the block was read
  // so, else as Latin-1 (one character a byte, and all ASCII reads the same either way). Not
  // the whole block: a message's flags need two short values out of a 2-3 KB header.
  const encoding = read === 1 ? "utf8" : "latin1";
  const values: (string | undefined)[] = new Array(wanted.length);
  for (let k = 0; k < wanted.length; k++) {
    const start = spans[2 * k];
    values[k] = start < 0 ? undefined : unfold(block.toString(encoding, start, spans[2 * k + 1]));
  }
  return values;
}

/** A field's value from its raw lines (LF-separated, each maybe ending in CR), as headerFields joins them. */
function unfold(raw: string): string {
  // One line: the CR that headerFields drops is whitespace that trim() drops anyway.
  if (!raw.includes("\n")) return raw.trim();
  const lines = raw.split("\n");
  let value = lines[0].endsWith("\r") ? lines[0].slice(0, -1) : lines[0];
  for (let i = 1; i < lines.length; i++) value += ` ${lines[i].trim()}`;
  return value.trim();
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

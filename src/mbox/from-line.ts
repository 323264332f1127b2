import { startsWithField } from "../util/rfc5322.js";

/**
 * The From_ line ("From sender date") that starts each message of an mbox.
 * A line counts only when a sender is followed by a date in one of the forms found in the wild.
 */
export interface Envelope {
  sender: string;
  /** null when the date part does not parse. */
  date: Date | null;
}

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

/** Zone names that old Unix mailers wrote; any other name means local time. */
const ZONES: Record<string, number> = {
  UT: 0, UTC: 0, GMT: 0, Z: 0, WET: 0, BST: 60, CET: 60, MET: 60, CEST: 120, MEST: 120, EET: 120,
  EEST: 180, MSK: 180, IST: 330, JST: 540, KST: 540, HKT: 480, AEST: 600, AEDT: 660, NZST: 720,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
};

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?";
const MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*";
const TIME = "(\\d{1,2}):(\\d{2})(?::(\\d{2}))?";
const ZONE = "([+-]\\d{4}|[A-Z]{1,5})";

// asctime, optionally with a zone before or after the year:
//   Mon Jan  1 12:34:56 2002 | Mon Jan 1 12:34:56 2002 +0100 | Tue Sep 03 12:34:56 +0000 2002
const ASCTIME = new RegExp(`^${DAY}\\s+${MON}\\s+(\\d{1,2})\\s+${TIME}(?:\\s+${ZONE})?\\s+(\\d{4}|\\d{2})(?:\\s+${ZONE})?(?:\\s|$)`, "i");
// RFC 2822 style, written by a few exporters: Thu, 18 Sep 2008 17:54:04 +0900
const RFC2822 = new RegExp(`^(?:${DAY}\\s+)?(\\d{1,2})\\s+${MON}\\s+(\\d{4})\\s+${TIME}(?:\\s+${ZONE})?(?:\\s|$)`, "i");

export function parseFromLine(line: string): Envelope | null {
  if (!line.startsWith("From ")) return null;
  let rest = line.slice(5);
  const last = rest.charCodeAt(rest.length - 1);
  if (last === 0x0a || last === 0x0d) rest = rest.replace(/\r?\n$/, "").replace(/\r$/, "");
  const split = splitSender(rest);
  if (!split) return null;
  const date = parseEnvelopeDate(split.dateText);
  if (date === undefined) return null;
  return { sender: split.sender, date };
}

function splitSender(rest: string): { sender: string; dateText: string } | null {
  // A sender may be empty ("From  Mon Jan ..."), quoted, or a bare token.
  if (rest.startsWith(" ")) return { sender: "", dateText: rest.trimStart() };
  let end: number;
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    if (close < 0) return null;
    end = rest.indexOf(" ", close);
  } else {
    end = rest.indexOf(" ");
  }
  if (end < 0) return null;
  return { sender: rest.slice(0, end), dateText: rest.slice(end).trimStart() };
}

/**
 * undefined: not a date at all (the line is no From_ line);
 * null: shaped like a date but out of range.
 */
export function parseEnvelopeDate(text: string): Date | null | undefined {
  return asctimeByPosition(text) ?? parseEnvelopeDateByPattern(text);
}

const DAY_NAMES = new Set(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
const MONTH_NAMES = new Map(Object.keys(MONTHS).map((name) => [name[0].toUpperCase() + name.slice(1), MONTHS[name]]));

/**
 * "Thu Sep 18 17:54:04 2008" (or "Mon Dec  8 ..."), the form nearly every From_ line's date
 * takes, read by position; undefined for any other text, which the patterns read. The
 * patterns' match arrays and substrings cost a 30,000-message mbox ~25 ms of its reading
 * thread. What this reads, the patterns read the same way (from-line.test.ts holds it to them).
 */
function asctimeByPosition(text: string): Date | null | undefined {
  if (text.length !== 24 || text[3] !== " " || text[7] !== " " || text[10] !== " " || text[13] !== ":" || text[16] !== ":" || text[19] !== " ") return undefined;
  const month = MONTH_NAMES.get(text.slice(4, 7));
  if (month === undefined || !DAY_NAMES.has(text.slice(0, 3))) return undefined;
  const day = text[8] === " " ? digitsAt(text, 9, 1) : digitsAt(text, 8, 2);
  const hh = digitsAt(text, 11, 2);
  const mm = digitsAt(text, 14, 2);
  const ss = digitsAt(text, 17, 2);
  const year = digitsAt(text, 20, 4);
  if (day < 0 || hh < 0 || mm < 0 || ss < 0 || year < 0) return undefined;
  return build(year, month, day, hh, mm, ss, undefined);
}

/** The number the `count` ASCII digits at `at` spell, or -1 if they are not all digits. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** parseEnvelopeDate by its patterns alone: the definition asctimeByPosition must agree with. */
export function parseEnvelopeDateByPattern(text: string): Date | null | undefined {
  let m = ASCTIME.exec(text);
  if (m) {
    const [, mon, day, hh, mm, ss, zoneBefore, year, zoneAfter] = m;
    return build(Number(fullYear(year)), MONTHS[mon.slice(0, 3).toLowerCase()], Number(day), Number(hh), Number(mm), Number(ss ?? 0), zoneAfter ?? zoneBefore);
  }
  m = RFC2822.exec(text);
  if (m) {
    const [, day, mon, year, hh, mm, ss, zone] = m;
    return build(Number(year), MONTHS[mon.slice(0, 3).toLowerCase()], Number(day), Number(hh), Number(mm), Number(ss ?? 0), zone);
  }
  return undefined;
}

function fullYear(year: string): string {
  if (year.length === 4) return year;
  const n = Number(year);
  return String(n >= 70 ? 1900 + n : 2000 + n);
}

function build(year: number, month: number, day: number, hh: number, mm: number, ss: number, zone: string | undefined): Date | null {
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return null;
  const offset = zoneOffsetMinutes(zone);
  const ms = offset === null
    ? new Date(year, month, day, hh, mm, ss).getTime()
    : Date.UTC(year, month, day, hh, mm, ss) - offset * 60_000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Minutes east of UTC, or null for local time. */
function zoneOffsetMinutes(zone: string | undefined): number | null {
  if (!zone) return null;
  const numeric = /^([+-])(\d{2})(\d{2})$/.exec(zone);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3]);
    return numeric[1] === "-" ? -minutes : minutes;
  }
  return ZONES[zone.toUpperCase()] ?? null;
}

/**
 * What must follow a From_ line: an RFC 5322 field name and colon, or another envelope line
 * (">From ..." or "From ..."), as UUCP-era mail and some bounces stack them.
 */
export function isHeaderLine(line: Buffer | string): boolean {
  // /^(?:[\x21-\x39\x3b-\x7e]+[ \t]*:|>*From )/ by code: a Buffer is not made a string first.
  if (startsWithField(line)) return true;
  const n = line.length;
  const code = typeof line === "string" ? (i: number) => line.charCodeAt(i) : (i: number) => line[i];
  let k = 0;
  while (k < n && code(k) === 0x3e) k++;
  return k + 5 <= n && code(k) === 0x46 && code(k + 1) === 0x72 && code(k + 2) === 0x6f && code(k + 3) === 0x6d && code(k + 4) === 0x20;
}

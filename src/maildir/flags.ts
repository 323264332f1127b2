import { headerValuesOf } from "../util/rfc5322.js";

/**
 * Maildir flags from the mbox bookkeeping headers (see docs/flags.md):
 *   Status R → S (seen);  X-Status A → R (replied), F → F (flagged), D → T (trashed), T → D (draft).
 * Status O ("old": the client has seen it arrive) puts a message in cur/ even without flags.
 * Thunderbird keeps its own, X-Mozilla-Status (and -Status2, and its tags in X-Mozilla-Keys),
 * and Google Takeout writes X-Gmail-Labels.
 */
export interface MboxFlags {
  /** Maildir flag letters in ASCII order, keywords not included. */
  flags: string;
  /** cur/ (true) or new/ (false). */
  cur: boolean;
  keywords: string[];
}

const X_STATUS_MAP: Record<string, string> = { A: "R", F: "F", D: "T", T: "D" };
/** The header fields flagsFromValues reads, in the order it takes their values. */
export const FLAG_FIELDS = ["status", "x-status", "x-keywords", "x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys", "x-gmail-labels"];

/**
 * Thunderbird's message flags (nsMsgMessageFlags), which it writes in hex: the low 16 bits in
 * X-Mozilla-Status, the high ones in X-Mozilla-Status2. Expunged is a message deleted but not
 * yet compacted away: it stays, marked deleted (T), rather than coming back as live mail.
 */
const MOZILLA_FLAGS: Array<[number, string]> = [
  [0x0001, "S"], // Read
  [0x0002, "R"], // Replied
  [0x0004, "F"], // Marked
  [0x0008, "T"], // Expunged
];
const MOZILLA_FORWARDED = 0x1000;
/** New since Thunderbird last showed the folder (X-Mozilla-Status2): stays in new/. */
const MOZILLA_NEW = 0x10000;

export function flagsFromHeader(header: Buffer): MboxFlags {
  return flagsFromValues(headerValuesOf(header, FLAG_FIELDS, { latin1: true }));
}

/** The flags from the values of FLAG_FIELDS (more may follow them), read in one pass with others a caller needs. */
export function flagsFromValues(values: (string | undefined)[]): MboxFlags {
  const [statusValue, xStatus, xKeywords, mozStatus, mozStatus2, mozKeys, gmailLabels] = values;
  const status = statusValue ?? "";
  // Most mbox messages carry a Status line at most: what the rest below would make of that
  // alone, without its set, keyword split and sort (measured ~25 ms of a 30,000-message run).
  if (xStatus === undefined && xKeywords === undefined && mozStatus === undefined && mozKeys === undefined && gmailLabels === undefined) {
    const flags = status.includes("R") ? "S" : "";
    return { flags, cur: status.includes("O") || flags !== "", keywords: [] };
  }
  const letters = new Set<string>();
  if (status.includes("R")) letters.add("S");
  for (const ch of xStatus ?? "") {
    const mapped = X_STATUS_MAP[ch];
    if (mapped) letters.add(mapped);
  }
  const keywords = parseKeywords(`${xKeywords ?? ""} ${mozKeys ?? ""}`);
  const mozilla = hexFlags(mozStatus, 4);
  let seenArrive = status.includes("O");
  if (mozilla !== null) {
    for (const [bit, letter] of MOZILLA_FLAGS) if (mozilla & bit) letters.add(letter);
    if ((mozilla & MOZILLA_FORWARDED) !== 0 && !keywords.includes("$Forwarded")) keywords.push("$Forwarded");
    // Mail Thunderbird has shown is old mail, as with Status: O, unless it marks it new.
    seenArrive ||= ((hexFlags(mozStatus2, 8) ?? 0) & MOZILLA_NEW) === 0;
  }
  if (gmailLabels !== undefined) {
    seenArrive = true;
    addGmailLabels(gmailLabels, letters, keywords);
  }
  const flags = [...letters].sort().join("");
  return { flags, cur: seenArrive || flags !== "" || keywords.length > 0, keywords };
}

/**
 * Google Takeout's X-Gmail-Labels (comma-separated): a message without the Unread label has
 * been read; Starred is flagged; a keyword an IMAP client set is kept as the label
 * IMAP_<keyword> (IMAP_$Forwarded). Other labels are Gmail's folders and categories, not flags.
 * A Takeout message counts as seen arriving: unread mail there is not new mail.
 */
function addGmailLabels(value: string, letters: Set<string>, keywords: string[]): void {
  const labels = value.split(",").map((label) => label.trim());
  if (!labels.includes("Unread")) letters.add("S");
  if (labels.includes("Starred")) letters.add("F");
  for (const label of labels) {
    if (!label.startsWith("IMAP_")) continue;
    const keyword = label.slice("IMAP_".length);
    // Only a label that is one IMAP atom whole: "IMAP_a b" is no keyword.
    if (parseKeywords(keyword)[0] === keyword && !keywords.includes(keyword)) keywords.push(keyword);
  }
}

/** A header value of 1 to `digits` hex digits as a number; null if it is absent or not that. */
function hexFlags(value: string | undefined, digits: number): number | null {
  const text = value?.trim() ?? "";
  return text.length > 0 && text.length <= digits && /^[0-9a-fA-F]+$/.test(text) ? Number.parseInt(text, 16) : null;
}

/** IMAP keyword atoms only: what Dovecot would accept as a keyword name. */
function parseKeywords(value: string): string[] {
  const seen = new Set<string>();
  for (const word of value.split(/[\s,]+/)) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: atoms exclude controls
    if (word && !/[\x00-\x20\x7f-\xff(){%*"\\\]]/.test(word) && !word.startsWith("\\")) seen.add(word);
  }
  return [...seen];
}

/** Maildir info suffix: flag letters then Dovecot keyword letters, in ASCII order. */
export function infoSuffix(flags: string, keywordLetters: string): string {
  return `:2,${[...(flags + keywordLetters)].sort().join("")}`;
}

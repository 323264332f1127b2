import { headerValuesOf } from "../util/rfc5322.js";

/**
 * Maildir flags from the mbox bookkeeping headers (see docs/flags.md):
 *   Status R → S (seen);  X-Status A → R (replied), F → F (flagged), D → T (trashed), T → D (draft).
 * Status O ("old": the client has seen it arrive) puts a message in cur/ even without flags.
 */
export interface MboxFlags {
  /** Maildir flag letters in ASCII order, keywords not included. */
  flags: string;
  /** cur/ (true) or new/ (false). */
  cur: boolean;
  keywords: string[];
}

const X_STATUS_MAP: Record<string, string> = { A: "R", F: "F", D: "T", T: "D" };
// In the order flagsFromHeader takes their values.
const FIELDS = ["status", "x-status", "x-keywords"];

export function flagsFromHeader(header: Buffer): MboxFlags {
  const [statusValue, xStatus, xKeywords] = headerValuesOf(header, FIELDS, { latin1: true });
  const letters = new Set<string>();
  const status = statusValue ?? "";
  if (status.includes("R")) letters.add("S");
  for (const ch of xStatus ?? "") {
    const mapped = X_STATUS_MAP[ch];
    if (mapped) letters.add(mapped);
  }
  const keywords = parseKeywords(xKeywords ?? "");
  const flags = [...letters].sort().join("");
  return { flags, cur: status.includes("O") || flags !== "" || keywords.length > 0, keywords };
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

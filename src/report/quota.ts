import fs from "node:fs";
import { readTextFile } from "../util/read-file.js";
import type { MaildirSize } from "./records.js";

/**
 * Maildir++ `maildirsize`: a first line of limits ("1000000S,1000C", either part optional),
 * then one "bytes count" line per delivery or expunge (negative numbers for removals).
 * Undefined for a missing or unreadable file; a limit of 0 means none.
 */
export function parseMaildirsize(text: string): MaildirSize {
  const lines = text.split("\n");
  const result: MaildirSize = { usedBytes: 0, usedMessages: 0 };
  for (const part of (lines[0] ?? "").split(",")) {
    const m = /^\s*(\d+)([SC])\s*$/.exec(part);
    if (!m || Number(m[1]) === 0) continue;
    if (m[2] === "S") result.limitBytes = Number(m[1]);
    else result.limitMessages = Number(m[1]);
  }
  for (const line of lines.slice(1)) {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    result.usedBytes += Number(m[1]);
    result.usedMessages += Number(m[2]);
  }
  return result;
}

export function readMaildirsize(file: string): MaildirSize | undefined {
  let text: string;
  try {
    // A maildirsize planted as a symlink is not read through.
    text = readTextFile(file, "latin1");
  } catch {
    return undefined;
  }
  return parseMaildirsize(text);
}

export interface QuotaLimit {
  bytes?: number;
  messages?: number;
}

/** "2G", "500M", "750k", "1048576" → bytes (powers of 1024, as quota tools count). */
export function parseSize(spec: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*$/.exec(spec);
  if (!m) return undefined;
  const power = { "": 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase()] ?? 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** "2G" or "2G,50000" (bytes, then messages) → a limit. */
export function parseQuotaSpec(spec: string): QuotaLimit | undefined {
  const [bytesPart, messagesPart] = spec.split(",");
  const limit: QuotaLimit = {};
  if (bytesPart.trim() !== "" && bytesPart.trim() !== "-") {
    const bytes = parseSize(bytesPart);
    if (bytes === undefined) return undefined;
    if (bytes > 0) limit.bytes = bytes;
  }
  if (messagesPart !== undefined) {
    if (!/^\s*\d+\s*$/.test(messagesPart)) return undefined;
    if (Number(messagesPart) > 0) limit.messages = Number(messagesPart);
  }
  return limit;
}

/**
 * A quota file: one "user limit" line per user, limit as for --quota ("2G" or "2G,50000");
 * blank lines and # comments ignored. Throws with the file and line on a bad line.
 */
export function readQuotaFile(file: string): Map<string, QuotaLimit> {
  const quotas = new Map<string, QuotaLimit>();
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const [user, spec, extra] = line.split(/\s+/);
    const limit = spec === undefined || extra !== undefined ? undefined : parseQuotaSpec(spec);
    if (!limit) throw new Error(`${file}:${i + 1}: expected "user limit" (limit like 2G or 2G,50000), got "${raw.trim()}"`);
    quotas.set(user, limit);
  });
  return quotas;
}

import { createHash } from "node:crypto";
import path from "node:path";

/** Widths of the hash levels under the root: [2, 2] gives <root>/ab/cd/<user>. */
export type Fanout = number[];
export const DEFAULT_FANOUT: Fanout = [2, 2];

export function userHash(user: string): string {
  return createHash("md5").update(user, "utf8").digest("hex");
}

/** The bucket part of a user's path: ["ab", "cd"] for fanout [2, 2]. */
export function bucketOf(user: string, fanout: Fanout = DEFAULT_FANOUT): string[] {
  const hash = userHash(user);
  const parts: string[] = [];
  let at = 0;
  for (const width of fanout) {
    parts.push(hash.slice(at, at + width));
    at += width;
  }
  return parts;
}

export function userMaildir(root: string, user: string, fanout: Fanout = DEFAULT_FANOUT): string {
  return path.join(root, ...bucketOf(user, fanout), user);
}

/** "2,2" → [2, 2]; "0" or "" → [] (users directly under the root). */
export function parseFanout(spec: string): Fanout {
  const trimmed = spec.trim();
  if (trimmed === "" || trimmed === "0") return [];
  const widths = trimmed.split(/[,/:]/).map((part) => Number(part));
  const total = widths.reduce((a, b) => a + b, 0);
  if (widths.some((w) => !Number.isInteger(w) || w < 1 || w > 8) || total > 32) {
    throw new Error(`bad fanout "${spec}": give hash characters per level, e.g. "2,2" or "1,2"`);
  }
  return widths;
}

export function formatFanout(fanout: Fanout): string {
  return fanout.length === 0 ? "0" : fanout.join(",");
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why a user name cannot name a directory under the root, or null when it can. */
export function userNameProblem(user: string): string | null {
  if (user === "") return "user name is empty";
  if (user.includes("/")) return `user name "${user}" contains "/"`;
  if (user.startsWith(".")) return `user name "${user}" starts with "."`;
  if (CONTROL.test(user)) return `user name ${JSON.stringify(user)} holds control characters`;
  if (Buffer.byteLength(user, "utf8") > 255) return `user name "${user.slice(0, 40)}..." is longer than 255 bytes`;
  return null;
}

/**
 * The Maildir++ directory of a folder: "" for INBOX, ".Archive.2019" for "Archive/2019".
 * Non-ASCII names are stored in IMAP's modified UTF-7, as Dovecot and Courier do.
 */
export function folderDirName(folder: string | undefined): string {
  if (folder === undefined || isInbox(folder)) return "";
  const problem = folderNameProblem(folder);
  if (problem) throw new Error(problem);
  return `.${folder.split("/").map(encodeMutf7).join(".")}`;
}

/** Whether a folder name means the user's INBOX (empty, or INBOX in any case). */
export function isInbox(folder: string): boolean {
  return folder === "" || folder.toUpperCase() === "INBOX";
}

export function folderNameProblem(folder: string): string | null {
  for (const part of folder.split("/")) {
    if (part === "") return `folder "${folder}" has an empty level`;
    if (part.startsWith(".")) return `folder "${folder}" has a level starting with "."`;
    if (part.includes(".")) {
      return `folder "${folder}": "." is the Maildir++ level separator and cannot stand in a folder name; use "/" between levels`;
    }
    if (CONTROL.test(part)) return `folder ${JSON.stringify(folder)} holds control characters`;
  }
  return null;
}

/** RFC 3501 section 5.1.3 modified UTF-7. */
export function encodeMutf7(text: string): string {
  let out = "";
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const utf16 = Buffer.alloc(pending.length * 2);
    for (let i = 0; i < pending.length; i++) utf16.writeUInt16BE(pending.charCodeAt(i), i * 2);
    out += `&${utf16.toString("base64").replace(/=+$/, "").replace(/\//g, ",")}-`;
    pending = "";
  };
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === "&" ? "&-" : ch;
    } else {
      pending += ch;
    }
  }
  flush();
  return out;
}

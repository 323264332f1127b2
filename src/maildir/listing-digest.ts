import { baseEnd } from "./names.js";
import { forEachMessageFile } from "./scan.js";

/**
 * A folder's message files reduced to a count and 64 bits: each file's base name, subdir
 * (new/ or cur/) and info (its flags) hashed, the hashes summed. The sum does not depend on
 * the order the files are added in, so a directory read entry by entry and the rows of an
 * index give the same digest when they name the same files, and what it costs in memory does
 * not grow with the folder (a Map of 300,000 names held ~45 MB, then as much again to list
 * the folder against it). Two different sets of files of the same count share a digest with
 * odds of about 1 in 2^64: what a mismatch costs is a full comparison, what a false match
 * costs is an index that misses a change until the folder changes again.
 *
 * The identity is the one messageFiles keys by: the base name stops at the first "," or ":",
 * so a file renamed to change its flags (or its ",S=" size) is the same message, and a
 * changed info or subdir is a changed file.
 */
export class ListingDigest {
  count = 0;
  private low = 0;
  private high = 0;
  // The hash of the file being added, in two 32-bit lanes.
  private a = 0;
  private b = 0;

  /** Adds a file by its parts, as the index stores them. */
  add(base: string, subdir: string, info: string): void {
    this.begin(subdir);
    this.feed(base, 0, base.length);
    this.feedSeparator();
    this.feed(info, 0, info.length);
    this.end();
  }

  /** Adds a file by its name in new/ or cur/, parsed as messageFileOf parses it, without slicing it. */
  addName(name: string, subdir: string): void {
    const colon = name.indexOf(":");
    this.begin(subdir);
    this.feed(name, 0, baseEnd(name));
    this.feedSeparator();
    if (colon >= 0) this.feed(name, colon + 1, name.length);
    this.end();
  }

  equals(other: ListingDigest): boolean {
    return this.count === other.count && this.low === other.low && this.high === other.high;
  }

  // The lanes take subdir, "/", base, ":", info: neither separator can occur in what it follows.
  private begin(subdir: string): void {
    this.a = 0x3c6ef372;
    this.b = 0x510e527f;
    this.feed(subdir, 0, subdir.length);
    this.feed("/", 0, 1);
  }

  private feedSeparator(): void {
    this.feed(":", 0, 1);
  }

  private feed(s: string, from: number, to: number): void {
    let { a, b } = this;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x9e3779b1);
      b = Math.imul(b ^ c, 0x5f356495);
    }
    this.a = a;
    this.b = b;
  }

  private end(): void {
    // Each lane avalanched (MurmurHash3's finalizer) and stirred into the other, so that every
    // character moves all 64 bits.
    let a = fmix(this.a ^ Math.imul(this.b, 0x27d4eb2f));
    const b = fmix(this.b ^ Math.imul(a, 0x165667b1));
    a = fmix(a ^ b);
    this.low = (this.low + a) | 0;
    this.high = (this.high + b) | 0;
    this.count++;
  }
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The digest of a folder's message files (as forEachMessageFile finds them). */
export function listingDigest(folderDir: string): ListingDigest {
  const digest = new ListingDigest();
  forEachMessageFile(folderDir, (name, subdir) => digest.addName(name, subdir));
  return digest;
}

/**
 * Whether a folder's message files are the ones `expected` was made of: the same names,
 * none missing, none more (a base in both new/ and cur/ counts twice, so it never matches).
 */
export function listingMatches(folderDir: string, expected: ListingDigest): boolean {
  return listingDigest(folderDir).equals(expected);
}

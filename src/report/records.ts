/**
 * What a scan learns about one directory of a user's Maildir. Records are cached between runs
 * (keyed by the directory's mtime and inode), so they hold raw measurements, never judgements
 * that depend on the time of the report or on thresholds.
 */
export type DirRole = "home" | "folder" | "cur" | "new" | "tmp" | "other";

export interface DirRecord {
  /** Path relative to the user's home; "" is the home itself. */
  rel: string;
  role: DirRole;
  /** st_mtime in nanoseconds as a string; "" when the directory changed during the scan and must be read again next time. */
  mtimeNs: string;
  ino: number;
  /** Entries listed (files, directories, symlinks and others). */
  entries: number;
  subdirs: string[];
  files: number;
  /** Message files: regular files in a cur/ or new/. */
  messages: number;
  messageBytes: number;
  /** Dovecot's and mailstore's own index, cache and list files. */
  indexBytes: number;
  /** Everything else: tmp/ files, maildirsize, subscriptions, stray files. */
  otherBytes: number;
  /** Allocated blocks, as du counts them. */
  diskBytes: number;
  /** Files with more than one link: [inode, size, blocks in bytes]. Totals count each inode once. */
  links: [number, number, number][];
  symlinks: [string, string][];
  /** Sockets, FIFOs, devices: never expected in a Maildir. */
  specials: number;
  /** tmp/: the mtime (ms) of each file; new/: when the oldest file arrived there (its ctime, ms), one element. */
  times: number[];
  /** Entries that could not be read, with the reason. */
  errors: string[];
  /** A directory on another filesystem, not entered. */
  mount?: boolean;
}

export interface MaildirSize {
  /** Limits from the first line; undefined where none is set. */
  limitBytes?: number;
  limitMessages?: number;
  /** The sums of the lines below it: what the delivery agent believes is used. */
  usedBytes: number;
  usedMessages: number;
}

/** One user's home, as the scanner returns it. */
export interface UserScan {
  user: string;
  /** Path relative to the root. */
  rel: string;
  dirs: DirRecord[];
  maildirsize?: MaildirSize;
  /** Directories read from disk this time (the rest came from the cache). */
  rescanned: number;
}

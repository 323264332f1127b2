import fs from "node:fs";
import path from "node:path";

/** A process that holds something under a directory open: a descriptor, or its working directory. */
export interface Holder {
  pid: number;
  command: string;
  path: string;
}

/**
 * What the processes of this host hold open, read from /proc: each one's open descriptors and
 * working directory (as root every process's, otherwise the caller's own processes'); this
 * process is left out. Why a move looks: Dovecot takes no lock while a client only reads a
 * Maildir, but its IMAP and POP3 processes keep a selected folder's index files
 * (dovecot.index, .cache, .log; in the Maildir unless mail_location sets INDEX=) open, and a
 * shell or a script working in the Maildir has it as its working directory. Like fuser(1),
 * it sees what is open at the moment of the scan.
 */
export class OpenFiles {
  private constructor(
    private readonly held: ReadonlyArray<{ pid: number; path: string }>,
    private readonly procRoot: string,
    /** When the scan was made (ms since the epoch). */
    readonly at: number,
  ) {}

  static scan(procRoot = "/proc"): OpenFiles {
    const held: Array<{ pid: number; path: string }> = [];
    let pids: string[] = [];
    try {
      pids = fs.readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
    } catch {
      // no /proc (not Linux): nothing can be told
    }
    const link = (p: string) => {
      try {
        return fs.readlinkSync(p);
      } catch {
        return null; // gone meanwhile, or not ours to read
      }
    };
    for (const name of pids) {
      const pid = Number(name);
      if (pid === process.pid) continue;
      const cwd = link(path.join(procRoot, name, "cwd"));
      if (cwd?.startsWith("/")) held.push({ pid, path: cwd });
      let fds: string[] = [];
      try {
        fds = fs.readdirSync(path.join(procRoot, name, "fd"));
      } catch {
        continue;
      }
      for (const fd of fds) {
        const target = link(path.join(procRoot, name, "fd", fd));
        // Sockets, pipes and anonymous inodes read as "socket:[...]" and the like: not paths.
        if (target?.startsWith("/")) held.push({ pid, path: target });
      }
    }
    // Sorted by path, so a directory's holders are found by binary search: a host with 100,000
    // open descriptors and a relayout of 10,000 Maildirs would otherwise compare 10^9 paths.
    held.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return new OpenFiles(held, procRoot, Date.now());
  }

  /** The position of the first held path not below `bound`. */
  private lowerBound(bound: string): number {
    let [lo, hi] = [0, this.held.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.held[mid].path < bound) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first process found holding `dir` or something under it open, or null. */
  holderUnder(dir: string): Holder | null {
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      return null;
    }
    const prefix = real.endsWith("/") ? real : `${real}/`;
    // The directory itself, or the first path under it ("dir-2" and "dir.x" sort between the two).
    const [exact, under] = [this.held[this.lowerBound(real)], this.held[this.lowerBound(prefix)]];
    const found = exact?.path === real ? exact : under?.path.startsWith(prefix) ? under : undefined;
    if (!found) return null;
    let command = "?";
    try {
      command = fs.readFileSync(path.join(this.procRoot, String(found.pid), "comm"), "utf8").trim();
    } catch {
      // ended since the scan
    }
    return { ...found, command };
  }
}

let recent: OpenFiles | null = null;

/**
 * A scan no older than `maxAgeMs`: a relayout of thousands of Maildirs (a rename each) scans
 * about once a second, not once a Maildir (a busy mail host has tens of thousands of
 * descriptors open).
 */
export function openFilesNow(maxAgeMs = 1000): OpenFiles {
  if (!recent || Date.now() - recent.at > maxAgeMs) recent = OpenFiles.scan();
  return recent;
}

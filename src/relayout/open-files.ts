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
    return new OpenFiles(held, procRoot, Date.now());
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
    const found = this.held.find((h) => h.path === real || h.path.startsWith(prefix));
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

import path from "node:path";
import { readTextFile } from "../util/read-file.js";
import { replaceFile } from "../util/replace-file.js";

/**
 * Dovecot's dovecot-keywords file: "<index> <name>" per line; index 0 is file-name letter "a",
 * up to 25 ("z"). Existing entries are kept; new keywords take free indexes.
 */
export const KEYWORDS_FILE = "dovecot-keywords";
const MAX_KEYWORDS = 26;

export class KeywordTable {
  private readonly byName = new Map<string, number>();
  private dirty = false;
  /** Keywords that found no free letter. */
  readonly dropped = new Set<string>();

  constructor(private readonly folderDir: string) {
    let text = "";
    try {
      text = readTextFile(path.join(folderDir, KEYWORDS_FILE), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const line of text.split("\n")) {
      const m = /^(\d+) (.+)$/.exec(line);
      if (m && Number(m[1]) < MAX_KEYWORDS) this.byName.set(m[2], Number(m[1]));
    }
  }

  /** File-name letters for these keywords, assigning new indexes as needed. */
  letters(keywords: string[]): string {
    let out = "";
    for (const word of keywords) {
      let index = this.byName.get(word);
      if (index === undefined) {
        const used = new Set(this.byName.values());
        index = [...Array(MAX_KEYWORDS).keys()].find((i) => !used.has(i));
        if (index === undefined) {
          this.dropped.add(word);
          continue;
        }
        this.byName.set(word, index);
        this.dirty = true;
      }
      out += String.fromCharCode(0x61 + index);
    }
    return out;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** Writes the file (temporary file, then rename) if anything was added. */
  save(owner?: { uid: number; gid: number }): void {
    if (!this.dirty) return;
    const lines = [...this.byName.entries()].sort((a, b) => a[1] - b[1]).map(([name, i]) => `${i} ${name}\n`);
    const target = path.join(this.folderDir, KEYWORDS_FILE);
    replaceFile(target, lines.join(""), { mode: 0o600, flush: true, owner, tmp: `${target}.mailstore-${process.pid}` });
    this.dirty = false;
  }
}

import { baseEnd, baseOf } from "./names.js";
import { forEachMessageFile, type MessageFile, messageFileOf } from "./scan.js";

/**
 * A folder's message files (new/ and cur/) by base name, the part that stays when a mail
 * server renames a file to change its flags: what a Map<base, MessageFile> would hold, in a
 * fraction of its memory. The names are kept in one array (new/ first, then cur/) with an
 * open-addressing table of their positions, keyed by a hash of the base name, and a byte a
 * file for those taken out; a MessageFile is made when one is asked for. A folder of a
 * million messages held ~320 MB as a Map of objects (what verify and a reindex then peaked
 * at: 426 and 523 MB), ~80 MB so. A base name in both new/ and cur/ is the cur/ file, as a Map
 * filled in that order would have it.
 */
export class MessageListing {
  private readonly names: string[] = [];
  /** Position of the first cur/ name. */
  private curFrom = 0;
  /** Position + 1 of a name, 0 for an empty slot; a power of two long, at most half full. */
  private slots = new Int32Array(0);
  private taken = new Uint8Array(0);
  private count = 0;

  constructor(folderDir: string) {
    let inCur = false;
    forEachMessageFile(folderDir, (name, subdir) => {
      if (subdir === "cur" && !inCur) {
        inCur = true;
        this.curFrom = this.names.length;
      }
      this.names.push(name);
    });
    if (!inCur) this.curFrom = this.names.length;
    let capacity = 16;
    while (capacity < this.names.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.taken = new Uint8Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) this.place(i);
  }

  get size(): number {
    return this.count;
  }

  has(base: string): boolean {
    return this.find(base) >= 0;
  }

  get(base: string): MessageFile | undefined {
    const at = this.find(base);
    return at >= 0 ? this.fileAt(at) : undefined;
  }

  /** Takes the file out; false if there was none. */
  delete(base: string): boolean {
    return this.takeAt(this.find(base));
  }

  /** The file with this base name, taken out (one lookup for get and delete); undefined if none. */
  take(base: string): MessageFile | undefined {
    const at = this.find(base);
    return this.takeAt(at) ? this.fileAt(at) : undefined;
  }

  /** The files not taken out, new/ first. */
  *values(): Generator<MessageFile> {
    for (let i = 0; i < this.names.length; i++) if (!this.taken[i]) yield this.fileAt(i);
  }

  /** Where the files not taken out are (for fileAt and baseAt): a number each, not an object. */
  remaining(): number[] {
    const at: number[] = [];
    for (let i = 0; i < this.names.length; i++) if (!this.taken[i]) at.push(i);
    return at;
  }

  fileAt(at: number): MessageFile {
    return messageFileOf(this.names[at], at < this.curFrom ? "new" : "cur");
  }

  baseAt(at: number): string {
    return baseOf(this.names[at]);
  }

  private takeAt(at: number): boolean {
    if (at < 0) return false;
    this.taken[at] = 1;
    this.count--;
    return true;
  }

  private place(at: number): void {
    const name = this.names[at];
    const end = baseEnd(name);
    const mask = this.slots.length - 1;
    for (let slot = hashOf(name, end) & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot] - 1;
      if (held < 0) {
        this.slots[slot] = at + 1;
        this.count++;
        return;
      }
      const other = this.names[held];
      if (baseEnd(other) === end && other.startsWith(name.slice(0, end))) {
        // The same base name again, later in the listing: it replaces the one before.
        this.taken[held] = 1;
        this.slots[slot] = at + 1;
        return;
      }
    }
  }

  /** The position of the file with this base name, -1 if none (or taken out). */
  private find(base: string): number {
    const mask = this.slots.length - 1;
    for (let slot = hashOf(base, base.length) & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot] - 1;
      if (held < 0) return -1;
      const name = this.names[held];
      if (baseEnd(name) === base.length && name.startsWith(base)) return this.taken[held] ? -1 : held;
    }
  }
}

/** FNV-1a over the first `end` characters. */
function hashOf(s: string, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The message files of a Maildir folder, by base name. */
export function messageFiles(folderDir: string): MessageListing {
  return new MessageListing(folderDir);
}

import { createRequire } from "node:module";

/** The result of the native scanDir (native/fsops.c): see there for the layout. */
export interface NativeDirScan {
  dir: Float64Array;
  names: string[];
  types: Uint8Array;
  stats: Float64Array;
}
export const STATS_PER_ENTRY = 7;

interface Addon {
  scanDir: (path: string) => NativeDirScan;
  /** See native/delivery.c: each a thread-pool job but unnamedFiles. */
  writeFiles(dir: string, names: string[], pieces: Buffer[], counts: Uint32Array, mtimesMs: Float64Array, uid: number, gid: number, unnamed: false): Promise<undefined>;
  writeFiles(dir: string, names: string[], pieces: Buffer[], counts: Uint32Array, mtimesMs: Float64Array, uid: number, gid: number, unnamed: true): Promise<Int32Array>;
  publishFiles: (folder: string, tmpNames: string[], subdirs: Uint8Array, finalNames: string[], flush: boolean, fds: Int32Array | null) => Promise<void>;
  syncFs: (path: string) => Promise<void>;
  unnamedFiles: (dir: string) => boolean;
  /** dir/name created holding bytes, flushed, never partial: true; false if it existed; null if it cannot be done unnamed here. */
  linkNewFile: (dir: string, name: string, bytes: Buffer, uid: number, gid: number) => boolean | null;
  /** See native/crc32.c: zlib's CRC-32, computed with PCLMULQDQ when crc32Fast. */
  crc32: (data: Buffer, crc: number) => number;
  crc32Fast: boolean;
  /** See native/find-from.c: buffer.subarray(0, to).indexOf("From ", from), faster. */
  findFrom: (buffer: Buffer, from: number, to: number) => number;
  /** See native/read-heads.c: many message files' header blocks, sizes and mtimes in one call. */
  readHeads: (dir: string, names: string[], limit: number) => { blocks: Buffer; meta: Float64Array };
  /** See native/header-fields.c: where wanted fields' values lie in a header block's bytes. */
  headerFields: (block: Buffer, names: string, spans: Int32Array, mode: 0 | 1) => 0 | 1 | 2;
  /** See native/index-fields.c: the index's header fields of a block, those it can make; a mask of them. */
  indexFields: (block: Buffer, out: unknown[]) => number;
  /** See native/content-length.c: the values of a header block's Content-Length lines (up to out.length of them); how many there are. */
  contentLengths: (block: Buffer, out: Float64Array) => number;
  /** See native/blank-line.c: where the first blank line in buffer[from, to) starts, by "\n\n" or the CRLF form (3: "\n\r\n", 4: "\r\n\r\n"); -1 if none. */
  blankLine: (buffer: Buffer, from: number, to: number, crlf: 3 | 4) => number;
  /** See native/sched.c: this process's threads under SCHED_BATCH; how many were moved. */
  batchJob: () => number;
  /** See native/fcntl-lock.c: one try for a POSIX (or, openFile, an open file description) lock on the whole file; false if another holds one. */
  fcntlLock: (fd: number, exclusive: boolean, openFile?: boolean) => boolean;
  /** See native/exit-now.c: _exit(code), no teardown of the JavaScript threads. */
  exitNow: (code: number) => never;
}

let loaded: Addon | null | undefined;
let loadedFrom: string | null = null;

/**
 * mailstore's native helpers, built by `npm install` (node-gyp) into build/Release; null where
 * they are missing, and callers fall back to Node's fs (same results, slower).
 * MAILSTORE_NO_NATIVE=1 forces the fallback (tests compare the two).
 */
export function nativeAddon(): Addon | null {
  if (loaded !== undefined) return loaded;
  if (process.env.MAILSTORE_NO_NATIVE === "1") return (loaded = null);
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve("../../build/Release/fsops.node");
    const addon = require(file) as Addon;
    // A build older than this code (npm install not rerun) counts as missing.
    const complete = (["scanDir", "writeFiles", "publishFiles", "syncFs", "unnamedFiles", "linkNewFile", "crc32", "findFrom", "readHeads", "headerFields", "indexFields", "contentLengths", "blankLine", "batchJob", "fcntlLock", "exitNow"] as const).every((f) => typeof addon[f] === "function");
    loaded = complete ? addon : null;
    loadedFrom = complete ? file : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/**
 * The addon's file, where it loaded: it is also an SQLite extension (native/fed-rows.c), which
 * better-sqlite3 loads by path.
 */
export function nativeAddonFile(): string | null {
  return nativeAddon() ? loadedFrom : null;
}

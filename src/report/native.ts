import { createRequire } from "node:module";

/** The result of the native scanDir (native/scandir.c): see there for the layout. */
export interface NativeDirScan {
  dir: Float64Array;
  names: string[];
  types: Uint8Array;
  stats: Float64Array;
}
export const STATS_PER_ENTRY = 7;

let loaded: ((path: string) => NativeDirScan) | null | undefined;

/**
 * The native directory scanner, built by `npm install` (node-gyp) into build/Release; null
 * where it is missing, and the scan falls back to fs.lstatSync (same results, ~2x slower).
 * MAILSTORE_NO_NATIVE=1 forces the fallback (tests compare the two).
 */
export function nativeScanDir(): ((path: string) => NativeDirScan) | null {
  if (loaded !== undefined) return loaded;
  if (process.env.MAILSTORE_NO_NATIVE === "1") return (loaded = null);
  try {
    const require = createRequire(import.meta.url);
    loaded = (require("../../build/Release/scandir.node") as { scanDir: (path: string) => NativeDirScan }).scanDir;
  } catch {
    loaded = null;
  }
  return loaded;
}

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
  renameNoReplace: (from: string, to: string) => void;
}

let loaded: Addon | null | undefined;

/**
 * mailstore's native helpers, built by `npm install` (node-gyp) into build/Release; null where
 * they are missing, and callers fall back to Node's fs (same results, slower).
 * MAILSTORE_NO_NATIVE=1 forces the fallback (tests compare the two).
 */
export function nativeAddon(): Addon | null {
  if (loaded !== undefined) return loaded;
  if (process.env.MAILSTORE_NO_NATIVE === "1") return (loaded = null);
  try {
    loaded = createRequire(import.meta.url)("../../build/Release/fsops.node") as Addon;
  } catch {
    loaded = null;
  }
  return loaded;
}

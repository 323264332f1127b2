import fs from "node:fs";

let cached: string | null | undefined;

/**
 * The kernel's random id of this boot (Linux: /proc/sys/kernel/random/boot_id), null where
 * there is none. Two runs that see the same id ran with no restart between them, so the
 * page cache the first one wrote through was never lost.
 */
export function bootId(): string | null {
  if (cached === undefined) {
    try {
      cached = fs.readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim() || null;
    } catch {
      cached = null;
    }
  }
  return cached;
}

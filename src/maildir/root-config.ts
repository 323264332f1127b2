import fs from "node:fs";
import path from "node:path";
import { DEFAULT_FANOUT, type Fanout, formatFanout } from "./layout.js";

/**
 * The root remembers its layout in <root>/.mailstore.json, so every later command (index,
 * report, a second migrate) finds users where the first one put them.
 */
export const ROOT_CONFIG = ".mailstore.json";

interface RootConfig {
  version: 1;
  hash: "md5";
  fanout: Fanout;
}

export class LayoutMismatchError extends Error {}

export function resolveFanout(root: string, requested: Fanout | undefined, opts: { write: boolean }): Fanout {
  const file = path.join(root, ROOT_CONFIG);
  let stored: RootConfig | undefined;
  try {
    stored = JSON.parse(fs.readFileSync(file, "utf8")) as RootConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (stored) {
    if (requested && formatFanout(requested) !== formatFanout(stored.fanout)) {
      throw new LayoutMismatchError(`${root} is laid out with fanout ${formatFanout(stored.fanout)} (${file}); --fanout ${formatFanout(requested)} would put users elsewhere (mailstore relayout changes a layout)`);
    }
    return stored.fanout;
  }
  const fanout = requested ?? DEFAULT_FANOUT;
  if (opts.write) {
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
    const config: RootConfig = { version: 1, hash: "md5", fanout };
    fs.writeFileSync(file, `${JSON.stringify(config)}\n`, { flag: "wx", mode: 0o644 });
  }
  return fanout;
}

/**
 * A relayout of a whole tree to a new fan-out is recorded in <root>/.mailstore-relayout.json
 * before the first home moves, and the root's layout (.mailstore.json) changes only when no
 * home is left to move. While it exists, the other commands refuse the root: half its users
 * are in the old place and half in the new.
 */
export const TRANSITION_FILE = ".mailstore-relayout.json";

export interface Transition {
  from: Fanout;
  to: Fanout;
}

export function readTransition(root: string): Transition | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, TRANSITION_FILE), "utf8")) as Transition;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${path.join(root, TRANSITION_FILE)}: ${(err as Error).message}`);
  }
}

import { createRequire } from "node:module";

/**
 * commander, loaded through require(): imported as an ES module, Node first scans its
 * CommonJS source for the names it exports, which doubles its load time (~30 ms against
 * ~15 ms here), paid by every run, the nightly index with nothing to do included.
 */
const commander = createRequire(import.meta.url)("commander") as typeof import("commander");
export const { Command, CommanderError, Option } = commander;
export type Command = import("commander").Command;

import { spawnSync } from "node:child_process";
import path from "node:path";
import { REPO } from "./mbox.js";

export const CLI = path.join(REPO, "dist", "cli.js");

/** Runs the built CLI as a user would (npm test builds it first). */
export function mailstore(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", input: opts.input, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1", ...opts.env }, timeout: opts.timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
